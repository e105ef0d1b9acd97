package jobstream

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// cursorFile is the name of the source's cursor in its state folder.
const cursorFile = "jobstream-cursor.json"

// cursor is what the source remembers across restarts: every change before
// Date has been read and acked.
type cursor struct {
	Version int       `json:"version"`
	Date    time.Time `json:"date"`
	// Snapshot says the initial /snapshot was taken (or skipped by since).
	Snapshot bool `json:"snapshot"`
}

// loadCursor reads the cursor in dir; ok is false when there is none yet.
func loadCursor(dir string) (c cursor, ok bool, err error) {
	path := filepath.Join(dir, cursorFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return c, false, nil
	}
	if err != nil {
		return c, false, fmt.Errorf("jobstream: read cursor: %w", err)
	}
	if err := json.Unmarshal(b, &c); err != nil || c.Date.IsZero() {
		return c, false, fmt.Errorf("jobstream: cursor %s is corrupt (delete it to start over with a snapshot): %v", path, err)
	}
	return c, true, nil
}

// saveCursor replaces the cursor in dir atomically: a temp file, fsynced,
// renamed over the old one, and the folder fsynced so the rename survives a
// crash.
func saveCursor(dir string, c cursor) error {
	c.Version = 1
	c.Date = c.Date.UTC()
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, cursorFile+".*.tmp")
	if err != nil {
		return fmt.Errorf("jobstream: save cursor: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("jobstream: save cursor: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("jobstream: save cursor: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("jobstream: save cursor: %w", err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, cursorFile)); err != nil {
		return fmt.Errorf("jobstream: save cursor: %w", err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("jobstream: save cursor: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("jobstream: save cursor: sync %s: %w", dir, err)
	}
	return nil
}
