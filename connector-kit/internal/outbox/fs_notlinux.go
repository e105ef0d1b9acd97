//go:build !linux

package outbox

import "os"

// datasync is a full fsync where fdatasync is not known to be one.
func datasync(f *os.File) error { return f.Sync() }
