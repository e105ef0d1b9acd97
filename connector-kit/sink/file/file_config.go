package file

import (
	"fmt"

	"github.com/jobtech-dev/datahub/connector-kit/plugin"
)

// DefaultSyncEvery is how often the file sink syncs when the config leaves
// sync_every unset: after every record.
const DefaultSyncEvery = 1

// Config is the "ndjson_file" sink's YAML config section.
type Config struct {
	// Path is the file to append to; its folder is created if needed.
	Path string `yaml:"path"`
	// DataOnly writes just each record's data instead of its envelope.
	DataOnly bool `yaml:"data_only"`
	// SyncEvery fsyncs the file after this many records (default 1). A
	// record is written to the file before Write returns either way, so a
	// crash of the process loses nothing; a higher value only trades what
	// a power loss can take for speed.
	SyncEvery int `yaml:"sync_every"`
}

// StdoutConfig is the "stdout" sink's YAML config section.
type StdoutConfig struct {
	// DataOnly writes just each record's data instead of its envelope.
	DataOnly bool `yaml:"data_only"`
}

func (c Config) check() (Config, error) {
	if c.Path == "" {
		return c, fmt.Errorf("ndjson_file sink: %w: path is required", plugin.ErrInvalidConfig)
	}
	if c.SyncEvery < 0 {
		return c, fmt.Errorf("ndjson_file sink: %w: sync_every %d is negative", plugin.ErrInvalidConfig, c.SyncEvery)
	}
	if c.SyncEvery == 0 {
		c.SyncEvery = DefaultSyncEvery
	}
	return c, nil
}
