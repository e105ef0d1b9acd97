package jobstore

import "errors"

// Errors of the Jobstore, wrapped with what and where.
var (
	// ErrInvalid: a description with a mistake (each named by its field).
	ErrInvalid = errors.New("invalid service description")
	// ErrNotFound: no such service.
	ErrNotFound = errors.New("no such service")
)
