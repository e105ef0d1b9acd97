//go:build unix

package dirlock

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A lock held with no holder recorded — a child process forked but not yet
// exec'd still sharing the descriptor of a lock just released — is taken
// once that moment passes, not refused as held by "another process".
func TestLockHeldWithNoHolderIsTriedAgain(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	other, err := os.OpenFile(filepath.Join(dir, FileName), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if held, err := flock(other); err != nil || held {
		t.Fatalf("flock: held %v, %v", held, err)
	}
	time.AfterFunc(200*time.Millisecond, func() { other.Close() })
	l, err := Acquire(dir)
	if err != nil {
		t.Fatalf("Acquire while an empty-record holder lets go after 200 ms: %v", err)
	}
	defer l.Release()

	// A holder that never lets go is still refused, after the short wait.
	if _, err := Acquire(dir); !errors.Is(err, ErrLocked) {
		t.Fatalf("second Acquire: %v, want ErrLocked", err)
	}
}
