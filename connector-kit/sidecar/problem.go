package sidecar

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
)

// Problem is an RFC 9457 problem document; a rejected batch lists its bad
// lines.
type Problem struct {
	Type       string           `json:"type"`
	Title      string           `json:"title"`
	Status     int              `json:"status"`
	Detail     string           `json:"detail,omitempty"`
	Instance   string           `json:"instance,omitempty"`
	Violations []wire.Violation `json:"violations,omitempty"`
	Lines      []LineError      `json:"lines,omitempty"`
	// Results, for a batch the hub refused in part, is every line's outcome.
	Results []PostResult `json:"results,omitempty"`
}

// LineError says what is wrong with one line of a batch.
type LineError struct {
	Line       int              `json:"line"`
	Error      string           `json:"error"`
	Violations []wire.Violation `json:"violations,omitempty"`
}

func (p *Problem) Error() string { return p.Title + ": " + p.Detail }

var problemTitles = map[int][2]string{
	http.StatusBadRequest:            {"bad-request", "Bad request"},
	http.StatusForbidden:             {"forbidden", "Forbidden by the hub's sharing policies"},
	http.StatusNotFound:              {"not-found", "Not found"},
	http.StatusConflict:              {"conflict", "Record id already stored with different content"},
	http.StatusRequestEntityTooLarge: {"too-large", "Request too large"},
	http.StatusUnsupportedMediaType:  {"unsupported-media-type", "Unsupported media type"},
	http.StatusUnprocessableEntity:   {"invalid-record", "Record rejected"},
	http.StatusServiceUnavailable:    {"unavailable", "Unavailable, retry"},
	http.StatusBadGateway:            {"hub-unreachable", "Hub unreachable"},
	http.StatusInternalServerError:   {"internal", "Internal error"},
}

func problem(status int, detail string) *Problem {
	t, ok := problemTitles[status]
	if !ok {
		t = [2]string{"error", http.StatusText(status)}
	}
	return &Problem{Type: "https://jobtechdev.se/datahub/problems/" + t[0], Title: t[1], Status: status, Detail: detail}
}

type handlerFunc func(http.ResponseWriter, *http.Request) error

func handle(log *slog.Logger, h handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		err := h(w, r)
		if err == nil {
			return
		}
		var p *Problem
		if !errors.As(err, &p) {
			log.Error("local API", "method", r.Method, "path", r.URL.Path, "err", err)
			p = problem(http.StatusInternalServerError, err.Error())
		}
		if p.Instance == "" {
			p.Instance = r.URL.Path
		}
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(p.Status)
		_ = json.NewEncoder(w).Encode(p)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(v)
}
