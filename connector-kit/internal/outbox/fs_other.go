//go:build !unix

package outbox

import (
	"fmt"
	"os"
)

// lockDir opens the lock file. Outside Unix there is no flock: the caller
// must make sure only one process opens the directory.
func lockDir(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("outbox: lock: %w", err)
	}
	return f, nil
}

// syncDir does nothing where directories cannot be fsynced.
func syncDir(string) error { return nil }
