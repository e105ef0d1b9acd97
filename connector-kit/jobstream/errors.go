package jobstream

import (
	"errors"
	"fmt"
)

// ErrInvalidDate is returned (wrapped) by [ParseDate] and [ParseStreamQuery]
// for a date parameter that is not in JobStream's format; the message names
// the parameter and the expected format.
var ErrInvalidDate = errors.New("invalid JobStream date")

// ErrMissingParameter is returned (wrapped) by [ParseStreamQuery] when the
// required date parameter is absent.
var ErrMissingParameter = errors.New("missing JobStream parameter")

// ErrNotAd is returned (wrapped) by [AdFromEnvelope] for a record whose data
// is not a JSON object with an id.
var ErrNotAd = errors.New("record is not a JobStream ad")

// ErrClosed is returned by the source's Read after Close.
var ErrClosed = errors.New("jobstream source closed")

// StatusError is a JobStream answer with an HTTP status the source cannot
// retry its way out of (a 4xx other than 429): a wrong URL, a refused API
// key, a bad query.
type StatusError struct {
	// Code is the HTTP status code.
	Code int
	// URL is the request URL (the API key travels in a header, not here).
	URL string
	// Body is the start of the response body, for the log.
	Body string
}

func (e *StatusError) Error() string {
	msg := fmt.Sprintf("jobstream: GET %s: HTTP %d", e.URL, e.Code)
	if e.Code == 401 || e.Code == 403 {
		msg += " (check api_key)"
	}
	if e.Body != "" {
		msg += ": " + e.Body
	}
	return msg
}
