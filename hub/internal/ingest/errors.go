package ingest

import "errors"

// ErrStopped is returned by SubmitFederated once the service has stopped.
var ErrStopped = errors.New("ingest stopped")
