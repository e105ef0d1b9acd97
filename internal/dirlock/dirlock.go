package dirlock

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// FileName is the lock file inside the locked directory.
const FileName = "LOCK"

// ErrLocked is wrapped by [Acquire] (inside a [*HeldError]) when another
// process, or another Acquire in this process, holds the directory.
var ErrLocked = errors.New("directory in use")

// Holder describes the process that holds a lock, as it wrote it into the
// lock file.
type Holder struct {
	PID     int       `json:"pid"`
	Host    string    `json:"host,omitempty"`
	Command string    `json:"command,omitempty"`
	Since   time.Time `json:"since"`
}

// String names the holder for a message: "process 123 on host (cmd) since T".
func (h Holder) String() string {
	if h.PID == 0 {
		return "another process (it recorded no details)"
	}
	s := fmt.Sprintf("process %d", h.PID)
	if h.Host != "" {
		s += " on " + h.Host
	}
	if h.Command != "" {
		s += fmt.Sprintf(" (%s)", h.Command)
	}
	if !h.Since.IsZero() {
		s += ", holding it since " + h.Since.Local().Format(time.DateTime+" MST")
	}
	return s
}

// HeldError is the error of [Acquire] for a directory another process
// holds. It unwraps to [ErrLocked].
type HeldError struct {
	// Dir is the directory asked for; Path its lock file.
	Dir, Path string
	// Holder is who holds it, as far as the lock file tells.
	Holder Holder
}

func (e *HeldError) Error() string {
	return fmt.Sprintf("%s is in use by %s (lock file %s)", e.Dir, e.Holder, e.Path)
}

func (e *HeldError) Unwrap() error { return ErrLocked }

// emptyHolderWait bounds how long Acquire waits for a lock held with no
// holder recorded; emptyHolderPoll is how often it tries again.
const (
	emptyHolderWait = time.Second
	emptyHolderPoll = 20 * time.Millisecond
)

// Lock is a held directory lock. Release it, or let the process end.
type Lock struct {
	f    *os.File
	path string
}

// Acquire takes the exclusive lock on dir (created with mode 0700 when
// missing) without waiting, and records this process as its holder. It
// returns a [*HeldError] wrapping [ErrLocked] when the lock is held
// elsewhere, naming the holder.
func Acquire(dir string) (*Lock, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	path := filepath.Join(dir, FileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	// A lock held with no holder recorded is being taken (between the flock
	// and the record) or was just released while a child process of this
	// one, forked but not yet exec'd, still shares its descriptor: both
	// last moments, so such a lock is tried again for a short while.
	var h Holder
	for wait := time.Duration(0); ; wait += emptyHolderPoll {
		held, err := flock(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if !held {
			break
		}
		if h = readHolder(f); h.PID != 0 || wait >= emptyHolderWait {
			f.Close()
			return nil, &HeldError{Dir: dir, Path: path, Holder: h}
		}
		time.Sleep(emptyHolderPoll)
	}
	if err := writeHolder(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: record holder: %w", path, err)
	}
	return &Lock{f: f, path: path}, nil
}

// Path is the lock file.
func (l *Lock) Path() string { return l.path }

// Release clears the holder record and gives the lock up. Safe on nil and
// safe to call twice.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	_ = l.f.Truncate(0)
	err := l.f.Close() // closing the descriptor drops the flock
	l.f = nil
	if err != nil {
		return fmt.Errorf("release %s: %w", l.path, err)
	}
	return nil
}

func writeHolder(f *os.File) error {
	host, _ := os.Hostname()
	b, err := json.Marshal(Holder{PID: os.Getpid(), Host: host, Command: command(), Since: time.Now().UTC().Round(time.Second)})
	if err != nil {
		return err
	}
	if err := f.Truncate(0); err != nil {
		return err
	}
	if _, err := f.WriteAt(append(b, '\n'), 0); err != nil {
		return err
	}
	return f.Sync()
}

// readHolder reads what the holder recorded; a holder that has not written
// yet, or a file from an older version, gives the zero Holder.
func readHolder(f *os.File) Holder {
	var h Holder
	b := make([]byte, 4096)
	n, _ := f.ReadAt(b, 0)
	_ = json.Unmarshal(b[:n], &h)
	return h
}

// command is this process's command line, shortened for a message.
func command() string {
	args := append([]string{filepath.Base(os.Args[0])}, os.Args[1:]...)
	s := strings.Join(args, " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
