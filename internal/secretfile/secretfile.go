// Package secretfile reads files that hold a secret — an actor's nkey seed,
// the hub's admin token — and refuses one that every user of the machine can
// read, saying how to fix it. A file its group can read is only warned about:
// Kubernetes mounts secrets group-readable when a pod sets fsGroup, and that
// group is the pod's own.
package secretfile

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
)

// ErrReadableByOthers refuses a secret file that users other than its owner
// and its group can read.
var ErrReadableByOthers = errors.New("readable by other users")

// Read returns the content of the secret file at path; what names it in
// messages ("credentials file"). It returns an error wrapping
// ErrReadableByOthers, with the chmod that fixes it, when others may read the
// file, and logs a warning on log (nil: none) when its group may. On Windows,
// whose permissions are not mode bits, it only reads.
func Read(path, what string, log *slog.Logger) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", what, err)
	}
	defer f.Close()
	// Judge the file that was opened (a Kubernetes secret is a symlink to
	// it), not whatever the name points to a moment later.
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", what, err)
	}
	if runtime.GOOS != "windows" {
		mode := fi.Mode().Perm()
		switch {
		case mode&0o004 != 0:
			return nil, fmt.Errorf("%s %s is %w (mode %04o): run chmod 600 %s", what, path, ErrReadableByOthers, mode, path)
		case mode&0o040 != 0 && log != nil:
			log.Warn(fmt.Sprintf("%s %s is readable by its group (mode %04o); fine for a Kubernetes secret mounted with fsGroup, otherwise run chmod 600 %s", what, path, mode, path))
		}
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("read %s %s: %w", what, path, err)
	}
	return b, nil
}
