package file

import (
	"fmt"
	"time"

	"github.com/jobtech-dev/datahub/connector-kit/plugin"
	"github.com/jobtech-dev/datahub/internal/recordfile"
)

// Defaults for the zero values of Config.
const (
	DefaultPollInterval   = 250 * time.Millisecond
	DefaultRedeliverAfter = time.Second
)

// Config is the "ndjson_file" source's YAML config section.
type Config struct {
	// Path is the file to read: .ndjson/.jsonl one record per line, else
	// a JSON document (one record or an array).
	Path string `yaml:"path"`
	// Dataset receives the records.
	Dataset string `yaml:"dataset"`
	// IDFrom names the field whose value, with the dataset and a hash of
	// the record, is the record id: a JSON pointer ("/id", "/meta/ref") or
	// a top-level field name ("<dataset>:<value>:<hash>"). Empty:
	// "<file base>:<line>:<hash>". A changed record gets a new id; the
	// same record read again keeps its id and is stored once.
	IDFrom string `yaml:"id_from"`
	// Follow keeps reading lines appended to an NDJSON file.
	Follow bool `yaml:"follow"`
	// PollInterval is how often a following source looks for new lines
	// (default 250ms).
	PollInterval time.Duration `yaml:"poll_interval"`
	// RedeliverAfter is how long a nacked record waits before Read hands
	// it out again (default 1s).
	RedeliverAfter time.Duration `yaml:"redeliver_after"`
}

func (c Config) check() (Config, error) {
	bad := func(format string, a ...any) (Config, error) {
		return c, fmt.Errorf("ndjson_file source: %w: %s", plugin.ErrInvalidConfig, fmt.Sprintf(format, a...))
	}
	switch {
	case c.Path == "":
		return bad("path is required")
	case c.Dataset == "":
		return bad("dataset is required")
	case c.Follow && !recordfile.IsNDJSON(c.Path):
		return bad("follow needs an NDJSON file (.ndjson or .jsonl), not %s", c.Path)
	case c.PollInterval < 0 || c.RedeliverAfter < 0:
		return bad("poll_interval and redeliver_after may not be negative")
	}
	if c.PollInterval == 0 {
		c.PollInterval = DefaultPollInterval
	}
	if c.RedeliverAfter == 0 {
		c.RedeliverAfter = DefaultRedeliverAfter
	}
	return c, nil
}
