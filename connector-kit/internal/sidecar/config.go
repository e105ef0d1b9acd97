package sidecar

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/jobtech-dev/datahub/internal/strictyaml"

	"github.com/jobtech-dev/datahub/connector-kit/creds"
	"github.com/jobtech-dev/datahub/connector-kit/plugin"
	"github.com/jobtech-dev/datahub/connector-kit/schema"
	"github.com/jobtech-dev/datahub/connector-kit/wire"
)

// Config is the sidecar's configuration (connector.yaml); field names are
// the YAML keys.
type Config struct {
	Hub struct {
		// URL is the hub's NATS address; empty means the one the
		// credentials file names (else nats://127.0.0.1:4222).
		URL string `yaml:"url"`
		// Credentials is the actor's credentials file (hub actor create).
		Credentials string `yaml:"credentials"`
		// CA is the PEM file of the CA that signed the hub's TLS
		// certificate; it makes TLS required (system CAs when empty).
		CA string `yaml:"ca"`
		// ClientCert and ClientKey are presented to a hub that requires
		// client certificates (mutual TLS).
		ClientCert string `yaml:"client_cert"`
		ClientKey  string `yaml:"client_key"`
	} `yaml:"hub"`
	// Listen is the local HTTP API's address.
	Listen string `yaml:"listen"`
	// APIToken, when set, is required from every request to the local API
	// but /healthz (Authorization: Bearer <token>, or JobStream's api-key
	// header). It is required when Listen is not a loopback address.
	// APITokenFile names a file holding it instead (keeps it out of the
	// config and of the process list).
	APIToken     string `yaml:"api_token"`
	APITokenFile string `yaml:"api_token_file"`
	// Outbox is the folder of the durable outbox.
	Outbox string `yaml:"outbox"`
	// ForwardDuringFsync sends each record to the hub while its outbox
	// fsync is under way instead of after it (a POST is still answered
	// only once its record is fsynced): a POST then waits for the longer
	// of the fsync and the hub's answer, not their sum. Off by default, so
	// that a record the hub has is always one the outbox had fsynced.
	ForwardDuringFsync bool `yaml:"forward_during_fsync"`
	// State is the folder where plugins keep cursors and dead-letter files.
	State string `yaml:"state"`
	// MaxRecordBytes and MaxBatch bound a POST.
	MaxRecordBytes int `yaml:"max_record_bytes"`
	MaxBatch       int `yaml:"max_batch"`
	// AckTimeout is how long a POST waits for the hub before answering
	// "queued" (202) instead of "stored" (201); 0 answers once the records
	// are durable in the outbox, as a request with Prefer: respond-async.
	AckTimeout time.Duration `yaml:"ack_timeout"`
	// StuckAfter is how long the oldest queued record may be tried on a
	// live hub connection without being taken before /healthz reports the
	// outbox "stuck" (default 1m).
	StuckAfter time.Duration `yaml:"stuck_after"`
	// JobStreamDataset is the job-ad dataset the JobStream-compatible
	// endpoints (/stream, /snapshot) serve.
	JobStreamDataset string `yaml:"jobstream_dataset"`
	// Inputs feed the hub from sources; Outputs deliver datasets to sinks.
	Inputs  []PluginConfig `yaml:"inputs"`
	Outputs []PluginConfig `yaml:"outputs"`
	// LogLevel is debug, info, warn or error.
	LogLevel string `yaml:"log_level"`
	// Dir is the folder the config file's relative paths are relative to:
	// ReadConfig and LoadConfig set it to the file's folder and resolve the
	// hub's files, the outbox and the state folder against it; Start
	// resolves the plugin settings whose spec type is "path" against it.
	// Empty means the working directory.
	Dir string `yaml:"-"`
}

// PluginConfig configures one source or sink.
type PluginConfig struct {
	// Name identifies it (state folder, durable subscription name).
	Name string `yaml:"name"`
	// Type is the registered plugin name (webhook, ndjson_file, jobstream, …).
	Type string `yaml:"type"`
	// Dataset is where a source's records go, or what a sink receives.
	Dataset string `yaml:"dataset"`
	// Start is where a sink's subscription starts the first time: all
	// (default), new or snapshot.
	Start string `yaml:"start"`
	// Batch, for an output whose sink takes batches, is how many records
	// are written at once (default 1); Linger is how long a batch waits to
	// fill (default 100ms).
	Batch  int           `yaml:"batch"`
	Linger time.Duration `yaml:"linger"`
	// Config is the plugin's own settings.
	Config yaml.MapSlice `yaml:"config"`
}

// DefaultConfig is what `connector run` uses without a file.
func DefaultConfig() Config {
	var c Config
	c.Listen = "127.0.0.1:8181"
	c.Outbox = "outbox"
	c.State = "connector-state"
	c.MaxRecordBytes = schema.DefaultMaxBytes
	c.MaxBatch = 10000
	c.AckTimeout = 3 * time.Second
	c.StuckAfter = time.Minute
	c.JobStreamDataset = "jobads"
	c.LogLevel = "info"
	return c
}

// ReadConfig reads a YAML config over the defaults without validating it
// (flags may still complete it; Start validates); unknown keys are errors.
// Relative paths in it — the credentials, CA and client certificate files,
// the outbox and the state folder, the defaults of the last two included —
// are made relative to the file's folder, so a config means the same
// wherever the connector is started from; plugin paths follow at Start
// (see Dir).
func ReadConfig(path string) (Config, error) {
	c := DefaultConfig()
	b, err := os.ReadFile(path)
	if err != nil {
		return c, fmt.Errorf("read config: %w", err)
	}
	if err := strictyaml.Decode(b, &c, yaml.DisallowUnknownField()); err != nil {
		return c, fmt.Errorf("config %s: %s", path, yaml.FormatError(err, false, true))
	}
	c.Dir = filepath.Dir(path)
	for _, p := range []*string{&c.Hub.Credentials, &c.Hub.CA, &c.Hub.ClientCert, &c.Hub.ClientKey, &c.Outbox, &c.State} {
		*p = inDir(c.Dir, *p)
	}
	return c, nil
}

// LoadConfig reads a YAML config as ReadConfig does, and validates it.
func LoadConfig(path string) (Config, error) {
	c, err := ReadConfig(path)
	if err != nil {
		return c, err
	}
	if err := c.Validate(); err != nil {
		return c, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// inDir is path made relative to dir when it is relative (and not empty).
func inDir(dir, path string) string {
	if path == "" || dir == "" || filepath.IsAbs(path) {
		return path
	}
	return filepath.Join(dir, path)
}

// withPluginPaths returns c with every plugin setting whose type in the
// plugin's spec is "path" (an ndjson_file's path, …) made relative to
// c.Dir. A plugin env does not know is left as it is: Start reports it.
func (c Config) withPluginPaths(env *plugin.Environment) Config {
	if c.Dir == "" || env == nil {
		return c
	}
	paths := map[string]map[string]bool{} // kind/name → path fields
	for _, p := range env.Plugins() {
		for _, f := range p.Fields {
			if f.Type == "path" {
				if paths[p.Kind+"/"+p.Name] == nil {
					paths[p.Kind+"/"+p.Name] = map[string]bool{}
				}
				paths[p.Kind+"/"+p.Name][f.Name] = true
			}
		}
	}
	resolve := func(kind string, in []PluginConfig) []PluginConfig {
		out := make([]PluginConfig, len(in))
		for i, p := range in {
			fields := paths[kind+"/"+p.Type]
			conf := make(yaml.MapSlice, len(p.Config))
			for j, it := range p.Config {
				if k, _ := it.Key.(string); fields[k] {
					if v, ok := it.Value.(string); ok {
						it.Value = inDir(c.Dir, v)
					}
				}
				conf[j] = it
			}
			p.Config = conf
			out[i] = p
		}
		return out
	}
	c.Inputs = resolve("source", c.Inputs)
	c.Outputs = resolve("sink", c.Outputs)
	return c
}

// Validate reports every bad setting, naming its key.
func (c Config) Validate() error {
	var errs []error
	bad := func(key, f string, a ...any) { errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(f, a...))) }
	if c.Hub.URL != "" {
		if err := creds.CheckHubURL(c.Hub.URL); err != nil {
			bad("hub.url", "%v", err)
		}
	}
	if (c.Hub.ClientCert == "") != (c.Hub.ClientKey == "") {
		bad("hub.client_cert, hub.client_key", "give both or neither")
	}
	if c.Hub.Credentials == "" {
		bad("hub.credentials", "required: the actor's credentials file")
	}
	if host, _, err := net.SplitHostPort(c.Listen); err != nil {
		bad("listen", "%q is not host:port", c.Listen)
	} else if !Loopback(host) && c.APIToken == "" && c.APITokenFile == "" {
		bad("listen", "%q is reachable from other machines: set api_token or api_token_file (--api-token, --api-token-file) so the local API is not open to anyone who can reach it, or listen on 127.0.0.1", c.Listen)
	}
	if c.APIToken != "" && c.APITokenFile != "" {
		bad("api_token", "give api_token or api_token_file, not both")
	}
	if c.AckTimeout < 0 {
		bad("ack_timeout", "%s: must be 0 (answer \"queued\" once a record is durable in the outbox) or more", c.AckTimeout)
	}
	if c.StuckAfter <= 0 {
		bad("stuck_after", "must be positive")
	}
	if c.Outbox == "" {
		bad("outbox", "required")
	}
	if c.MaxRecordBytes < 1 {
		bad("max_record_bytes", "must be positive")
	}
	if c.MaxBatch < 1 {
		bad("max_batch", "must be positive")
	}
	seen := map[string]bool{}
	for i, p := range append(append([]PluginConfig{}, c.Inputs...), c.Outputs...) {
		key := fmt.Sprintf("plugin %d (%s)", i+1, p.Name)
		if p.Name == "" || !wire.ValidName(p.Name) {
			bad(key, "name %q must match [a-z][a-z0-9-]{0,62}", p.Name)
		}
		if seen[p.Name] {
			bad(key, "name %q used twice", p.Name)
		}
		seen[p.Name] = true
		if p.Type == "" {
			bad(key, "type required")
		}
		if !wire.ValidName(p.Dataset) {
			bad(key, "dataset %q is not a dataset name", p.Dataset)
		}
		if p.Batch < 0 || p.Batch > 10000 {
			bad(key, "batch %d: want 1 to 10000", p.Batch)
		}
		switch p.Start {
		case "", wire.StartAll, wire.StartNew, wire.StartSnapshot:
		default:
			bad(key, "start %q: want all, new or snapshot", p.Start)
		}
	}
	return errors.Join(errs...)
}

// Loopback reports whether host (of a listen address) reaches only this
// machine: localhost or a loopback IP. An empty host means every interface.
func Loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// apiToken returns the local API's token: api_token, or the content of
// api_token_file (surrounding space trimmed); "" when neither is set.
func (c Config) apiToken() (string, error) {
	tok, key := c.APIToken, "api_token"
	if c.APITokenFile != "" {
		b, err := os.ReadFile(c.APITokenFile)
		if err != nil {
			return "", fmt.Errorf("api_token_file: %w", err)
		}
		tok, key = string(bytes.TrimSpace(b)), "api_token_file "+c.APITokenFile
	}
	if tok != "" && len(tok) < minTokenLen {
		return "", fmt.Errorf("%s: a token of %d characters is easy to guess; use at least %d (for example: openssl rand -hex 32)", key, len(tok), minTokenLen)
	}
	if tok == "" && c.APITokenFile != "" {
		return "", fmt.Errorf("%s is empty", key)
	}
	return tok, nil
}

// minTokenLen is the shortest API token accepted.
const minTokenLen = 16
