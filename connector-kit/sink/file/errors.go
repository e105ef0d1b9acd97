package file

import (
	"errors"
	"fmt"

	"github.com/jobtech-dev/datahub/connector-kit/plugin"
)

// Errors returned by the sinks.
var (
	// ErrClosed is returned by writes after Close.
	ErrClosed = errors.New("file sink: closed")
	// ErrNotConnected is returned by writes to an ndjson_file sink before
	// Connect; it wraps plugin.ErrNotConnected.
	ErrNotConnected = fmt.Errorf("file sink: %w", plugin.ErrNotConnected)
	// ErrBadRecord is returned, marked plugin.Permanent, for a record whose
	// data is not JSON: writing it again cannot help.
	ErrBadRecord = errors.New("file sink: record data is not valid JSON")
)
