package fastschema

import (
	"errors"
	"fmt"
)

// ErrUnsupported is returned (wrapped in an [*UnsupportedError]) by
// [Compile] when the schema uses a keyword or feature the fast path does not
// implement. The caller validates that dataset with the reference instead.
var ErrUnsupported = errors.New("schema feature not supported by the fast validator")

// ErrInvalidOption is returned (wrapped) by [Compile] for an option that
// cannot be used: a key or tombstone that is not a JSON pointer, a custom
// keyword without a name or a check.
var ErrInvalidOption = errors.New("invalid fast validator option")

// UnsupportedError names what the fast path does not implement and where it
// is in the schema. It wraps [ErrUnsupported].
type UnsupportedError struct {
	// Keyword is the schema keyword (or feature, such as "$ref cycle").
	Keyword string
	// Location is the absolute location of the subschema using it
	// (document URL#JSON pointer).
	Location string
	// Detail says why, when the keyword alone does not.
	Detail string
}

func (e *UnsupportedError) Error() string {
	msg := fmt.Sprintf("%v: %s at %s", ErrUnsupported, e.Keyword, e.Location)
	if e.Detail != "" {
		msg += " (" + e.Detail + ")"
	}
	return msg
}

func (e *UnsupportedError) Unwrap() error { return ErrUnsupported }
