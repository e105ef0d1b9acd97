package outbox

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/jobtech-dev/datahub/internal/atomicfile"
)

const (
	floorFile = "floor"
	floorSize = 8 + 4
)

// readFloor returns the persisted acked floor, 0 if none was written yet.
func readFloor(dir string) (uint64, error) {
	path := filepath.Join(dir, floorFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("outbox: read acked floor: %w", err)
	}
	if len(b) != floorSize || checksum(b[:8]) != binary.LittleEndian.Uint32(b[8:]) {
		return 0, fmt.Errorf("outbox: acked floor file %s: %w", path, ErrCorrupt)
	}
	return binary.LittleEndian.Uint64(b[:8]), nil
}

// writeFloor replaces the floor file atomically (package atomicfile).
func writeFloor(dir string, floor uint64) error {
	var b [floorSize]byte
	binary.LittleEndian.PutUint64(b[:8], floor)
	binary.LittleEndian.PutUint32(b[8:], checksum(b[:8]))
	if err := atomicfile.Write(filepath.Join(dir, floorFile), b[:], 0o600); err != nil {
		return fmt.Errorf("outbox: write acked floor: %w", err)
	}
	return nil
}
