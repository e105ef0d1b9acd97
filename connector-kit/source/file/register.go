package file

import (
	"fmt"

	"github.com/jobtech-dev/datahub/connector-kit/plugin"
)

// Name is the source type name in connector configs.
const Name = "ndjson_file"

// Register adds the "ndjson_file" source to env.
func Register(env *plugin.Environment) error {
	return env.RegisterSource(Name, func(conf []byte, res plugin.Resources) (plugin.Source, error) {
		var cfg Config
		if err := plugin.DecodeConfig(conf, &cfg); err != nil {
			return nil, fmt.Errorf("ndjson_file source: %w", err)
		}
		return New(cfg, res)
	})
}
