//go:build unix

package dirlock

import (
	"errors"
	"os"
	"syscall"
)

// flock takes an exclusive, non-blocking flock on f. held reports that
// another open file (another process, or another Acquire here) has it.
func flock(f *os.File) (held bool, err error) {
	err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return true, nil
	}
	return false, err
}
