package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
)

// Problem is an RFC 9457 problem document, with the violations of a rejected
// record when there are some.
type Problem struct {
	Type       string           `json:"type"`
	Title      string           `json:"title"`
	Status     int              `json:"status"`
	Detail     string           `json:"detail,omitempty"`
	Instance   string           `json:"instance,omitempty"`
	Violations []wire.Violation `json:"violations,omitempty"`
}

// Error makes a Problem usable as an error.
func (p *Problem) Error() string {
	if p.Detail != "" {
		return p.Title + ": " + p.Detail
	}
	return p.Title
}

// problemTypes maps each status to its problem type and title: one table, so
// the same failure always looks the same.
var problemTypes = map[int][2]string{
	http.StatusBadRequest:            {"bad-request", "Bad request"},
	http.StatusUnauthorized:          {"unauthorized", "Missing or wrong admin token"},
	http.StatusForbidden:             {"forbidden", "Forbidden"},
	http.StatusNotFound:              {"not-found", "Not found"},
	http.StatusMethodNotAllowed:      {"method-not-allowed", "Method not allowed"},
	http.StatusConflict:              {"conflict", "Already exists"},
	http.StatusRequestEntityTooLarge: {"too-large", "Request too large"},
	http.StatusUnsupportedMediaType:  {"unsupported-media-type", "Unsupported media type"},
	http.StatusUnprocessableEntity:   {"invalid-record", "Record rejected"},
	http.StatusTooManyRequests:       {"too-many-requests", "Too many requests, retry later"},
	http.StatusServiceUnavailable:    {"unavailable", "Hub unavailable, retry"},
	http.StatusInternalServerError:   {"internal", "Internal error"},
}

// problemBase prefixes problem types; they name documentation, not a live page.
const problemBase = "https://jobtechdev.se/datahub/problems/"

func newProblem(status int, detail string) *Problem {
	t, ok := problemTypes[status]
	if !ok {
		t = [2]string{"error", http.StatusText(status)}
	}
	return &Problem{Type: problemBase + t[0], Title: t[1], Status: status, Detail: detail}
}

// handlerFunc is an HTTP handler that reports failure by returning an error.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// handle adapts a handlerFunc, rendering its error as a problem.
func handle(log *slog.Logger, h handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			writeError(log, w, r, err)
		}
	}
}

func writeError(log *slog.Logger, w http.ResponseWriter, r *http.Request, err error) {
	var p *Problem
	if !errors.As(err, &p) {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			p = newProblem(http.StatusRequestEntityTooLarge, err.Error())
		} else {
			log.Error("api request failed", "method", r.Method, "path", r.URL.Path, "err", err)
			p = newProblem(http.StatusInternalServerError, err.Error())
		}
	}
	if p.Instance == "" {
		p.Instance = r.URL.Path
	}
	if p.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="hub"`)
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(v)
}

// problemsFor renders the mux's own 404 and 405 answers (plain text) as
// problem documents, keeping the Allow header a 405 carries.
func problemsFor(log *slog.Logger, mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := mux.Handler(r); pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		// No pattern matches this method and path: ask the mux what it
		// would answer, without letting it write.
		rec := &statusOnly{header: http.Header{}}
		mux.ServeHTTP(rec, r)
		detail := "no such API endpoint: " + r.Method + " " + r.URL.Path
		if rec.status == http.StatusMethodNotAllowed {
			w.Header().Set("Allow", rec.header.Get("Allow"))
			detail = fmt.Sprintf("%s %s: method not allowed (allowed: %s)", r.Method, r.URL.Path, rec.header.Get("Allow"))
		} else if rec.status != http.StatusNotFound {
			rec.status = http.StatusNotFound
		}
		writeError(log, w, r, newProblem(rec.status, detail))
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
