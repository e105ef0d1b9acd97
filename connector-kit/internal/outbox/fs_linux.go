//go:build linux

package outbox

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// datasync flushes f's data and whatever metadata reading it back needs
// (its size), but not its times: cheaper than fsync when the size did not
// change.
func datasync(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		for {
			serr = unix.Fdatasync(int(fd))
			if !errors.Is(serr, unix.EINTR) {
				return
			}
		}
	}); err != nil {
		return err
	}
	if serr != nil {
		return &os.PathError{Op: "fdatasync", Path: f.Name(), Err: serr}
	}
	return nil
}
