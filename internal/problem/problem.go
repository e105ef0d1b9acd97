// Package problem is the one way the hub's HTTP API and the connector
// sidecar report errors, and the one way the two CLIs read them: RFC 9457
// problem documents (application/problem+json) whose type, title and HTTP
// status come from a single table keyed by the same codes that cross NATS
// (package wire). A refusal therefore looks the same whether it came from
// the hub over NATS, from the hub's API, or from a sidecar.
package problem

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
)

// ContentType is the media type of a problem document.
const ContentType = "application/problem+json"

// TypeBase prefixes every problem type; the types name documentation
// (README, "Outcomes and errors"), not a page the client must fetch.
const TypeBase = "https://jobtechdev.se/datahub/problems/"

// Codes that exist only over HTTP; the others are wire's codes.
const (
	CodeUnauthorized         wire.Code = "unauthorized"
	CodeMethodNotAllowed     wire.Code = "method_not_allowed"
	CodeUnsupportedMediaType wire.Code = "unsupported_media_type"
	CodeHubUnreachable       wire.Code = "hub_unreachable"
)

// kind is one row of the table: the HTTP status and title of a code.
type kind struct {
	status int
	title  string
}

// kinds is the one table from error code to HTTP status and problem title.
var kinds = map[wire.Code]kind{
	wire.CodeBadRequest:      {http.StatusBadRequest, "Bad request"},
	CodeUnauthorized:         {http.StatusUnauthorized, "Missing or wrong credentials"},
	wire.CodeForbidden:       {http.StatusForbidden, "Forbidden by the hub's sharing policies"},
	wire.CodeNotFound:        {http.StatusNotFound, "Not found"},
	wire.CodeKeysNotShared:   {http.StatusBadRequest, "Keys not shared: each publisher's keys are its own"},
	wire.CodeUnknownDataset:  {http.StatusNotFound, "Unknown dataset"},
	wire.CodeRetired:         {http.StatusGone, "Dataset retired: its records can be read, it takes no new ones"},
	wire.CodeIncompatible:    {http.StatusConflict, "Schema version not compatible; nothing registered"},
	CodeMethodNotAllowed:     {http.StatusMethodNotAllowed, "Method not allowed"},
	wire.CodeConflict:        {http.StatusConflict, "Conflict"},
	wire.CodeTooLarge:        {http.StatusRequestEntityTooLarge, "Too large"},
	CodeUnsupportedMediaType: {http.StatusUnsupportedMediaType, "Unsupported media type"},
	wire.CodeInvalid:         {http.StatusUnprocessableEntity, "Record rejected"},
	wire.CodeRateLimited:     {http.StatusTooManyRequests, "Limit reached, retry later"},
	wire.CodeInternal:        {http.StatusInternalServerError, "Internal error"},
	CodeHubUnreachable:       {http.StatusBadGateway, "Hub unreachable"},
	wire.CodeUnavailable:     {http.StatusServiceUnavailable, "Unavailable, retry"},
}

// Status is the HTTP status that code is answered with.
func Status(code wire.Code) int {
	if k, ok := kinds[code]; ok {
		return k.status
	}
	return http.StatusInternalServerError
}

// ForStatus is the code an HTTP status stands for in the table (the first
// listed for it), for callers that only know a status, such as an HTTP
// server refusing a connection over its caps; CodeInternal when none.
func ForStatus(status int) wire.Code {
	for _, c := range order {
		if kinds[c].status == status {
			return c
		}
	}
	return wire.CodeInternal
}

// order fixes which code ForStatus picks for a status several share.
var order = []wire.Code{wire.CodeBadRequest, wire.CodeKeysNotShared, CodeUnauthorized, wire.CodeForbidden, wire.CodeNotFound, wire.CodeUnknownDataset,
	CodeMethodNotAllowed, wire.CodeConflict, wire.CodeIncompatible, wire.CodeRetired, wire.CodeTooLarge, CodeUnsupportedMediaType, wire.CodeInvalid,
	wire.CodeRateLimited, wire.CodeInternal, CodeHubUnreachable, wire.CodeUnavailable}

// WriteStatus answers status with detail as a problem document (the code
// ForStatus gives).
func WriteStatus(w http.ResponseWriter, r *http.Request, status int, detail string) {
	Write(w, r, New(ForStatus(status), detail))
}

// OutcomeStatus is the HTTP status of a record outcome: the same on the
// hub's API and on the sidecar.
func OutcomeStatus(s wire.Status) int {
	switch s {
	case wire.StatusStored:
		return http.StatusCreated
	case wire.StatusDuplicate:
		return http.StatusOK
	case wire.StatusQueued:
		return http.StatusAccepted
	case wire.StatusRejected:
		return Status(wire.CodeInvalid)
	case wire.StatusConflict:
		return Status(wire.CodeConflict)
	case wire.StatusForbidden:
		return Status(wire.CodeForbidden)
	case wire.StatusTooLarge:
		return Status(wire.CodeTooLarge)
	case wire.StatusRateLimited:
		return Status(wire.CodeRateLimited)
	case wire.StatusUnknownDataset:
		return Status(wire.CodeUnknownDataset)
	case wire.StatusRetired:
		return Status(wire.CodeRetired)
	default:
		return Status(wire.CodeUnavailable)
	}
}

// Problem is an RFC 9457 problem document with this project's extension
// members. It is an error, so handlers simply return it.
type Problem struct {
	Type     string `json:"type"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail,omitempty"`
	Instance string `json:"instance,omitempty"`
	// Code is the machine-readable reason, matched by clients instead of
	// the title or detail.
	Code wire.Code `json:"code"`
	// Violations lists every reason a record was rejected.
	Violations []wire.Violation `json:"violations,omitempty"`
	// Batch, for an NDJSON batch some of whose lines were refused, is the
	// whole batch's outcome, line by line.
	*Batch `json:",omitempty"`
	// Compatibility, for a schema version refused as incompatible, is the
	// check's report: every breaking change with its direction and a
	// pointer into each schema.
	Compatibility *wire.CompatibilityReport `json:"compatibility,omitempty"`

	header http.Header // extra response headers (Allow, Retry-After)
}

// New returns the problem for code with detail, status and title from the
// table.
func New(code wire.Code, detail string) *Problem {
	k, ok := kinds[code]
	if !ok {
		k = kind{http.StatusInternalServerError, "Error"}
	}
	return &Problem{Type: TypeBase + string(code), Title: k.title, Status: k.status, Detail: detail, Code: code}
}

// Newf is New with a formatted detail.
func Newf(code wire.Code, format string, a ...any) *Problem {
	return New(code, fmt.Sprintf(format, a...))
}

// Error returns the title, the HTTP status and the detail.
func (p *Problem) Error() string {
	s := p.Title
	if p.Status != 0 {
		s += " (" + strconv.Itoa(p.Status) + ")"
	}
	if p.Detail != "" {
		s += ": " + p.Detail
	}
	return s
}

// Unwrap exposes the problem as a *wire.Error, so errors.Is(err,
// &wire.Error{Code: c}) and wire.CodeOf work on problems too.
func (p *Problem) Unwrap() error { return &wire.Error{Code: p.Code, Message: p.Detail} }

// WithHeader sets a response header sent with the problem.
func (p *Problem) WithHeader(key, value string) *Problem {
	if p.header == nil {
		p.header = http.Header{}
	}
	p.header.Set(key, value)
	return p
}

// RetryAfter sets the Retry-After header, in whole seconds (at least 1).
func (p *Problem) RetryAfter(d time.Duration) *Problem {
	return p.WithHeader("Retry-After", strconv.Itoa(max(1, int((d+time.Second-1)/time.Second))))
}

// From turns any error into a problem: a *Problem as it is, a *wire.Error
// by its code, an oversized body as too_large, anything else as internal.
func From(err error) *Problem {
	var p *Problem
	if errors.As(err, &p) {
		return p
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return Newf(wire.CodeTooLarge, "body larger than %d bytes", mbe.Limit)
	}
	var we *wire.Error
	if errors.As(err, &we) {
		return New(we.Code, we.Message)
	}
	return New(wire.CodeInternal, err.Error())
}

// Write sends err as a problem document for request r.
func Write(w http.ResponseWriter, r *http.Request, err error) {
	p := From(err)
	if p.Instance == "" && r != nil {
		p.Instance = r.URL.Path
	}
	for k, v := range p.header {
		w.Header()[k] = v
	}
	if p.Status == http.StatusUnauthorized && w.Header().Get("WWW-Authenticate") == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="jobtech-datahub"`)
	}
	w.Header().Set("Content-Type", ContentType)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

// WriteJSON sends v as a JSON answer with status.
func WriteJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(v)
}
