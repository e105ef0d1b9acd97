package problem

import (
	"fmt"
	"log/slog"
	"net/http"
	"path"
	"strings"

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
// 405 with the Allow header, and a path that is not clean (dot segments,
// double slashes) is 400 instead of the mux's redirect, because a name in
// a path must never be resolved by anyone but the handler that checks it.
func Mux(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := r.URL.Path; p == "" || !strings.HasPrefix(p, "/") || (p != "/" && path.Clean(p) != strings.TrimSuffix(p, "/")) || strings.Contains(p, "//") {
			Write(w, r, Newf(wire.CodeBadRequest, "path %q is not clean: no '.' or '..' segments or empty segments", p))
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

// statusOnly records a status and headers and drops the body.
type statusOnly struct {
	header http.Header
	status int
}

func (s *statusOnly) Header() http.Header         { return s.header }
func (s *statusOnly) Write(b []byte) (int, error) { return len(b), nil }
func (s *statusOnly) WriteHeader(code int)        { s.status = code }
