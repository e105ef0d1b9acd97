package webhook

import (
	"strconv"

	"github.com/jobtech-dev/datahub/connector-kit/plugin"
)

// Name is the sink type name in connector configs.
const Name = "webhook"

// Register adds the "webhook" sink to env.
func Register(env *plugin.Environment) error {
	return env.RegisterSink(Name, Spec, func(conf []byte, res plugin.Resources) (plugin.Sink, error) {
		cfg, err := ParseConfig(conf)
		if err != nil {
			return nil, err
		}
		return New(cfg, res)
	})
}

// Spec describes the "webhook" sink's config.
var Spec = plugin.Spec{
	Summary: "POSTs each record (or a JSON array of up to batch records) to a URL, signed with HMAC-SHA256, retried with backoff",
	Config:  Config{},
	Fields: []plugin.Field{
		{Name: "url", Type: "URL", Required: true, Description: "http(s) URL that receives the POSTs"},
		{Name: "secret", Type: "string", Description: "HMAC key for X-Hub-Signature-256 (or secret_env)"},
		{Name: "secret_env", Type: "env name", Description: "environment variable holding the HMAC key, so the file can be committed"},
		{Name: "batch", Type: "int", Default: strconv.Itoa(DefaultBatch), Description: "most records per POST; above 1 every POST carries a JSON array"},
		{Name: "timeout", Type: "duration", Default: DefaultTimeout.String(), Description: "bound on one attempt"},
		{Name: "max_retries", Type: "int", Default: strconv.Itoa(DefaultMaxRetries), Description: "retries of a retryable failure (-1: none); then the record goes to the output's dead-letter file"},
		{Name: "backoff_initial", Type: "duration", Default: DefaultBackoffInitial.String(), Description: "first backoff ceiling, doubled per retry (full jitter)"},
		{Name: "backoff_max", Type: "duration", Default: DefaultBackoffMax.String(), Description: "largest backoff ceiling"},
		{Name: "headers", Type: "map", Description: "extra headers on every POST (not the signature, timestamp, delivery or content type)"},
	},
}
