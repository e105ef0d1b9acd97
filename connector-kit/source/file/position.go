package file

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/jobtech-dev/datahub/internal/atomicfile"
)

// StateFile is the name of the position file in the source's state folder.
const StateFile = "ndjson_file-position.json"

// Position is how far the records of a file have all been acked.
type Position struct {
	// Path is the file's absolute path; a position for another file is
	// ignored.
	Path string `json:"path"`
	// Line is the last line of the acked prefix (0: none).
	Line int `json:"line"`
	// Offset is the byte offset just past Line (NDJSON files).
	Offset int64 `json:"offset"`
	// Records is the number of records in the acked prefix.
	Records int `json:"records"`
}

// loadPosition reads the position file; a missing file is the zero
// position.
func loadPosition(path string) (Position, error) {
	var p Position
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return p, nil
	}
	if err != nil {
		return p, fmt.Errorf("read position: %w", err)
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return p, fmt.Errorf("position file %s: %w", path, err)
	}
	return p, nil
}

// savePosition replaces the position file atomically (package atomicfile).
func savePosition(path string, p Position) error {
	b, err := json.Marshal(p)
	if err != nil {
		return err
	}
	if err := atomicfile.Write(path, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("save position: %w", err)
	}
	return nil
}
