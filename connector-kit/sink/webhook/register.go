package webhook

import "github.com/jobtech-dev/datahub/connector-kit/plugin"

// Name is the sink type name in connector configs.
const Name = "webhook"

// Register adds the "webhook" sink to env.
func Register(env *plugin.Environment) error {
	return env.RegisterSink(Name, func(conf []byte, res plugin.Resources) (plugin.Sink, error) {
		cfg, err := ParseConfig(conf)
		if err != nil {
			return nil, err
		}
		return New(cfg, res)
	})
}
