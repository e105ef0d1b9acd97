package fds

import (
	"errors"
	"fmt"
	"os"
)

// ErrUnknown is returned where the platform does not say.
var ErrUnknown = errors.New("open file descriptors: unknown on this platform")

// Open counts the descriptors the process has open. It needs one descriptor
// itself: when the table is full it returns that error (EMFILE).
func Open() (int, error) {
	d, err := os.Open("/proc/self/fd")
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return 0, ErrUnknown
		}
		return 0, fmt.Errorf("count open file descriptors: %w", err)
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return 0, fmt.Errorf("count open file descriptors: %w", err)
	}
	return len(names) - 1, nil // less the one reading
}

// Usage is the descriptor table's state.
type Usage struct {
	Open, Limit int
}

// Free is how many more descriptors can be opened.
func (u Usage) Free() int { return u.Limit - u.Open }

func (u Usage) String() string { return fmt.Sprintf("%d of %d file descriptors open", u.Open, u.Limit) }

// Now returns the table's state; Limit is 0 when unknown.
func Now() (Usage, error) {
	n, err := Open()
	if err != nil {
		return Usage{}, err
	}
	return Usage{Open: n, Limit: Limit()}, nil
}
