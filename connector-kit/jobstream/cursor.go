package jobstream

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/jobtech-dev/datahub/internal/atomicfile"
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

// saveCursor replaces the cursor in dir atomically (package atomicfile).
func saveCursor(dir string, c cursor) error {
	c.Version = 1
	c.Date = c.Date.UTC()
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	if err := atomicfile.Write(filepath.Join(dir, cursorFile), append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("jobstream: save cursor: %w", err)
	}
	return nil
}
