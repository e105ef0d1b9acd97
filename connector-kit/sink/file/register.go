package file

import (
	"fmt"
	"os"

	"github.com/jobtech-dev/datahub/connector-kit/plugin"
)

// Sink type names in connector configs.
const (
	NDJSONName = "ndjson_file"
	StdoutName = "stdout"
)

// Register adds the "ndjson_file" and "stdout" sinks to env.
func Register(env *plugin.Environment) error {
	err := env.RegisterSink(NDJSONName, NDJSONSpec, func(conf []byte, res plugin.Resources) (plugin.Sink, error) {
		var cfg Config
		if err := plugin.DecodeConfig(conf, &cfg); err != nil {
			return nil, fmt.Errorf("ndjson_file sink: %w", err)
		}
		return NewNDJSON(cfg)
	})
	if err != nil {
		return err
	}
	return env.RegisterSink(StdoutName, StdoutSpec, func(conf []byte, res plugin.Resources) (plugin.Sink, error) {
		var cfg StdoutConfig
		if err := plugin.DecodeConfig(conf, &cfg); err != nil {
			return nil, fmt.Errorf("stdout sink: %w", err)
		}
		return NewStdout(os.Stdout, cfg), nil
	})
}

// NDJSONSpec describes the "ndjson_file" sink's config.
var NDJSONSpec = plugin.Spec{
	Summary: "appends each record (its envelope, or only its data) to an NDJSON file",
	Config:  Config{},
	Fields: []plugin.Field{
		{Name: "path", Type: "path", Required: true, Description: "file to append to; its folder is created if needed"},
		{Name: "data_only", Type: "bool", Default: "false", Description: "write each record's data instead of its envelope"},
		{Name: "sync_every", Type: "int", Default: "1", Description: "fsync after this many records (a crash of the process loses nothing either way)"},
	},
}

// StdoutSpec describes the "stdout" sink's config.
var StdoutSpec = plugin.Spec{
	Summary: "prints each record as an NDJSON line on standard output",
	Config:  StdoutConfig{},
	Fields: []plugin.Field{
		{Name: "data_only", Type: "bool", Default: "false", Description: "print each record's data instead of its envelope"},
	},
}
