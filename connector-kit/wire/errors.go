package wire

import (
	"errors"
	"fmt"
)

// Code says, in a form a program can match, why the hub refused a request
// or could not serve it. Every hub reply that can fail carries one (ingest,
// subscribe, unsubscribe, schema), so a client never has to read an English
// message to decide what to do.
type Code string

// The codes a hub sends. A client that meets a code it does not know should
// treat it as CodeInternal: not retryable, shown to a person.
const (
	// CodeUnknownDataset: the hub declares no such dataset.
	CodeUnknownDataset Code = "unknown_dataset"
	// CodeForbidden: the sharing policies do not allow it.
	CodeForbidden Code = "forbidden"
	// CodeInvalid: the record fails its dataset's schema or the hub's
	// decode checks; the reply lists the violations. Retrying cannot help.
	CodeInvalid Code = "invalid"
	// CodeTooLarge: the record or request is over the hub's size limit.
	CodeTooLarge Code = "too_large"
	// CodeConflict: the record id was already used by this publisher for a
	// record with different content. (A key another publisher owns is
	// CodeInvalid, with a violation of keyword "owner" naming the owner.)
	CodeConflict Code = "conflict"
	// CodeRateLimited: a limit on the actor was reached (for example its
	// number of subscriptions); retry later or free something.
	CodeRateLimited Code = "rate_limited"
	// CodeUnavailable: the hub could not do it now (storage trouble, shutting
	// down); nothing was changed, retry.
	CodeUnavailable Code = "unavailable"
	// CodeBadRequest: the request itself is malformed (not the record).
	CodeBadRequest Code = "bad_request"
	// CodeKeysNotShared: a question about key ownership on a dataset whose
	// keys are scoped by publisher (no key has an owner to ask about).
	CodeKeysNotShared Code = "keys_not_shared"
	// CodeNotFound: the named thing (a subscription, a schema version)
	// does not exist.
	CodeNotFound Code = "not_found"
	// CodeRetired: the dataset was retired (taken out of the hub's
	// declarations): its records can still be read, but it takes no new
	// ones. Retrying cannot help until an admin declares it again.
	CodeRetired Code = "retired"
	// CodeIncompatible: a new schema version does not pass the dataset's
	// compatibility mode; the reply lists every breaking change. Nothing
	// was registered.
	CodeIncompatible Code = "incompatible"
	// CodeInternal: a fault in the hub; report it.
	CodeInternal Code = "internal"
)

// Retryable reports whether a request refused with c may succeed when sent
// again unchanged.
func (c Code) Retryable() bool { return c == CodeUnavailable || c == CodeRateLimited }

// Error is a refusal as it crosses the wire: a code to match and a message
// for people. It satisfies error, and errors.Is(err, &Error{Code: c})
// matches any *Error with code c.
type Error struct {
	Code    Code   `json:"code"`
	Message string `json:"message,omitempty"`
}

// Errorf returns an *Error with code and a formatted message.
func Errorf(code Code, format string, a ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, a...)}
}

func (e *Error) Error() string {
	if e.Message == "" {
		return string(e.Code)
	}
	return e.Message + " (" + string(e.Code) + ")"
}

// Is matches another *Error by code alone.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// CodeOf returns the code of the first *Error in err's chain, or "" when
// there is none.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// Headers of a reply whose body is not JSON (the schema service answers
// with the schema document itself): the refusal travels in headers.
const (
	HeaderErrorCode    = "Hub-Error-Code"
	HeaderErrorMessage = "Hub-Error"
)
