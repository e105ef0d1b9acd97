package compat

import "errors"

// ErrInvalidSchema is returned (wrapped) by [Diff] and [Check] when a
// document is not valid JSON, not a valid JSON Schema, or has a $ref that
// does not resolve; the error names the document and the pointer.
var ErrInvalidSchema = errors.New("invalid schema")

// ErrUnsupported is returned (wrapped) when a document declares a dialect
// other than JSON Schema 2020-12, whose keywords the checker would misread.
var ErrUnsupported = errors.New("unsupported schema")

// ErrUnknownMode is returned (wrapped) by [ParseMode] and [Check] for a
// compatibility mode that is not one of the seven modes.
var ErrUnknownMode = errors.New("unknown compatibility mode")

// ErrInvalidOption is returned (wrapped) by an [Option] given a bad value.
var ErrInvalidOption = errors.New("invalid option")

// ErrTooComplex is returned (wrapped) when comparing two schemas would take
// more than the step budget (schemas whose definitions refer to each other
// in very many ways); nothing is judged compatible then.
var ErrTooComplex = errors.New("schemas too complex to compare")
