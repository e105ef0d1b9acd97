package ingest

import "errors"

// ErrBadName is returned by StoreAs for a dataset or publisher that cannot
// be a name ([a-z][a-z0-9-]{0,62}): it would not form a valid subject.
var ErrBadName = errors.New("not a dataset or actor name")

// ErrStopped is returned by SubmitFederated once the service has stopped.
var ErrStopped = errors.New("ingest stopped")
