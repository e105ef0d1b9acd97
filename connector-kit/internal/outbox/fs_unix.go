//go:build unix

package outbox

import (
	"os"
)

// syncDir fsyncs a directory so that files created, renamed or removed in it
// survive a crash.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
