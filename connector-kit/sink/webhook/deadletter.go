package webhook

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
)

// DeadLetterFile is the name of the dead-letter file inside the sink's
// state folder.
const DeadLetterFile = "webhook-deadletter.ndjson"

// DeadLetter is one line of the dead-letter file: a record the endpoint
// never accepted, why, when, and after how many attempts.
type DeadLetter struct {
	Envelope wire.Envelope `json:"envelope"`
	Error    string        `json:"error"`
	Time     time.Time     `json:"time"`
	Attempts int           `json:"attempts"`
}

// deadLetters appends to the dead-letter file, opened on first use.
type deadLetters struct {
	mu   sync.Mutex
	path string
	f    *os.File
}

// append writes one line per envelope and syncs the file before returning.
func (d *deadLetters) append(envs []wire.Envelope, cause error, attempts int, now time.Time) error {
	var buf []byte
	for _, e := range envs {
		line, err := marshal(DeadLetter{Envelope: e, Error: cause.Error(), Time: now.UTC(), Attempts: attempts})
		if err != nil {
			return fmt.Errorf("encode dead letter %s: %w", e.ID, err)
		}
		buf = append(append(buf, line...), '\n')
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.f == nil {
		if err := os.MkdirAll(filepath.Dir(d.path), 0o755); err != nil {
			return fmt.Errorf("dead-letter folder: %w", err)
		}
		f, err := os.OpenFile(d.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			return fmt.Errorf("open dead-letter file: %w", err)
		}
		d.f = f
	}
	if _, err := d.f.Write(buf); err != nil {
		return fmt.Errorf("write dead-letter file %s: %w", d.path, err)
	}
	if err := d.f.Sync(); err != nil {
		return fmt.Errorf("sync dead-letter file %s: %w", d.path, err)
	}
	return nil
}

func (d *deadLetters) close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.f == nil {
		return nil
	}
	err := d.f.Close()
	d.f = nil
	return err
}
