package file

import "errors"

// Errors returned by the source.
var (
	// ErrClosed is returned by Read after Close.
	ErrClosed = errors.New("ndjson_file source: closed")
	// ErrLineTooLong is returned by Read for an NDJSON line longer than
	// recordfile.MaxLine.
	ErrLineTooLong = errors.New("ndjson_file source: line too long")
)
