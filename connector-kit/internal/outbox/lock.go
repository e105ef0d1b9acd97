package outbox

import (
	"errors"
	"fmt"

	"github.com/jobtech-dev/datahub/internal/dirlock"
)

// lockDir takes the outbox directory's lock (the hub's data dir uses the
// same mechanism): an flock the kernel drops when the process dies, so a
// crashed connector never leaves a stale lock, and a second connector on
// the same outbox is told which process holds it.
func lockDir(dir string) (*dirlock.Lock, error) {
	l, err := dirlock.Acquire(dir)
	if errors.Is(err, dirlock.ErrLocked) {
		return nil, fmt.Errorf("outbox: %w: %w", ErrLocked, err)
	}
	if err != nil {
		return nil, fmt.Errorf("outbox: lock: %w", err)
	}
	return l, nil
}
