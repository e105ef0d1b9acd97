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
	err := env.RegisterSink(NDJSONName, func(conf []byte, res plugin.Resources) (plugin.Sink, error) {
		var cfg Config
		if err := plugin.DecodeConfig(conf, &cfg); err != nil {
			return nil, fmt.Errorf("ndjson_file sink: %w", err)
		}
		return NewNDJSON(cfg)
	})
	if err != nil {
		return err
	}
	return env.RegisterSink(StdoutName, func(conf []byte, res plugin.Resources) (plugin.Sink, error) {
		var cfg StdoutConfig
		if err := plugin.DecodeConfig(conf, &cfg); err != nil {
			return nil, fmt.Errorf("stdout sink: %w", err)
		}
		return NewStdout(os.Stdout, cfg), nil
	})
}
