package problem

import (
	"fmt"
	"log/slog"
	"net/http"
	"path"
	"strconv"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
)

// HandlerFunc is an HTTP handler that reports failure by returning an
// error; Handle renders it.
type HandlerFunc func(w http.ResponseWriter, r *http.Request) error

// Handle adapts h: an error it returns is written as a problem document.
// Internal errors (not a *Problem or *wire.Error) are logged, because they
// are the server's fault.
func Handle(log *slog.Logger, h HandlerFunc) http.HandlerFunc {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return func(w http.ResponseWriter, r *http.Request) {
		err := h(w, r)
		if err == nil {
			return
		}
		p := From(err)
		if p.Code == wire.CodeInternal {
			log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		}
		Write(w, r, p)
	}
}

// Mux wraps a ServeMux so that everything it would answer in plain text or
// HTML becomes a problem document: an unknown path is 404, a wrong method
// 405 with the Allow header, and a path that is not canonical (dot
// segments, empty segments, a trailing slash) is 400 instead of the mux's
// redirect, because a name in a path must never be resolved by anyone but
// the handler that checks it.
func Mux(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := r.URL.Path; p == "" || p[0] != '/' || path.Clean(p) != p {
			Write(w, r, Newf(wire.CodeBadRequest, "path %s is not canonical: no '.', '..' or empty segments and no trailing slash (did you mean %s?)",
				quoteShort(p), path.Clean("/"+p)))
			return
		}
		if _, pattern := mux.Handler(r); pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		// No pattern matches this method and path: ask the mux what it
		// would answer, without letting it write.
		rec := &statusOnly{header: http.Header{}}
		mux.ServeHTTP(rec, r)
		if rec.status == http.StatusMethodNotAllowed {
			allow := rec.header.Get("Allow")
			Write(w, r, Newf(CodeMethodNotAllowed, "%s %s: method not allowed (allowed: %s)", r.Method, r.URL.Path, allow).WithHeader("Allow", allow))
			return
		}
		Write(w, r, New(wire.CodeNotFound, fmt.Sprintf("no such endpoint: %s %s", r.Method, r.URL.Path)))
	})
}

// quoteShort quotes s for an error message, cut to 64 bytes: a path a
// stranger sent can be anything, and is echoed back only as far as needed.
func quoteShort(s string) string {
	if len(s) > 64 {
		return strconv.Quote(s[:64]) + fmt.Sprintf("… (%d bytes)", len(s))
	}
	return strconv.Quote(s)
}

// statusOnly records a status and headers and drops the body.
type statusOnly struct {
	header http.Header
	status int
}

func (s *statusOnly) Header() http.Header         { return s.header }
func (s *statusOnly) Write(b []byte) (int, error) { return len(b), nil }
func (s *statusOnly) WriteHeader(code int)        { s.status = code }
