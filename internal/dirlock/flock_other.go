//go:build !unix

package dirlock

import "os"

// flock does nothing where there is no flock: the caller must make sure only
// one process uses the directory.
func flock(*os.File) (bool, error) { return false, nil }
