package file

import (
	"fmt"

	"github.com/jobtech-dev/datahub/connector-kit/plugin"
)

// Name is the source type name in connector configs.
const Name = "ndjson_file"

// Register adds the "ndjson_file" source to env.
func Register(env *plugin.Environment) error {
	return env.RegisterSource(Name, Spec, func(conf []byte, res plugin.Resources) (plugin.Source, error) {
		var cfg Config
		if err := plugin.DecodeConfig(conf, &cfg); err != nil {
			return nil, fmt.Errorf("ndjson_file source: %w", err)
		}
		return New(cfg, res)
	})
}

// Spec describes the "ndjson_file" source's config.
var Spec = plugin.Spec{
	Summary: "reads records from a JSON or NDJSON file (optionally following appends); resumes after the last acked line",
	Config:  Config{},
	Fields: []plugin.Field{
		{Name: "path", Type: "path", Required: true, Description: ".ndjson/.jsonl: one record per line; else one JSON record or an array"},
		{Name: "dataset", Type: "name", Required: true, Description: "dataset that receives the records"},
		{Name: "id_from", Type: "field or /pointer", Description: "record id from this field and the record's hash (<dataset>:<value>:<hash>); default <file>:<line>:<hash>"},
		{Name: "follow", Type: "bool", Default: "false", Description: "keep reading lines appended to an NDJSON file"},
		{Name: "poll_interval", Type: "duration", Default: DefaultPollInterval.String(), Description: "how often a following source looks for new lines"},
		{Name: "redeliver_after", Type: "duration", Default: DefaultRedeliverAfter.String(), Description: "wait before a record the hub could not take now is read again"},
	},
}
