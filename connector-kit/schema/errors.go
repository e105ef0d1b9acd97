package schema

import "errors"

// ErrRefNotAllowed is returned (wrapped) by [Compile] when a schema refers to a
// document that was not passed in as a resource. Schemas never load anything
// from the network or the file system.
var ErrRefNotAllowed = errors.New("$ref target is not a known schema resource")

// ErrInvalidSchema is returned (wrapped) by [Compile] when a schema document or
// resource is not valid JSON or not a valid JSON Schema.
var ErrInvalidSchema = errors.New("invalid schema")

// ErrInvalidOption is returned (wrapped) by [Compile] for an option that
// cannot be used, naming it.
var ErrInvalidOption = errors.New("invalid option")
