// Package config holds the hub's settings: defaults that make `hub serve`
// work with no set-up, an optional YAML file, and the checks that turn a bad
// setting into an error naming the setting.
package config

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/jobtech-dev/datahub/internal/strictyaml"

	"github.com/jobtech-dev/datahub/connector-kit/schema"
	"github.com/jobtech-dev/datahub/connector-kit/wire"
)

// Config is everything `hub serve` can be told. Field names are the YAML keys.
type Config struct {
	// Name is this hub's name, stamped as origin into every record it stores.
	Name string `yaml:"name"`
	// Data is the data dir: JetStream files and the admin token.
	Data string `yaml:"data"`
	// NATSListen is where actors connect (host:port).
	NATSListen string `yaml:"nats_listen"`
	// HTTPListen is where the admin API, health checks and catalog are served.
	HTTPListen string `yaml:"http_listen"`
	// Schemas is the folder of dataset declarations.
	Schemas string `yaml:"schemas"`
	// Policies is the folder of sharing policies.
	Policies string `yaml:"policies"`
	// MaxRecordBytes bounds one record.
	MaxRecordBytes int `yaml:"max_record_bytes"`
	// MaxDepth bounds how deeply a record's objects and arrays nest.
	MaxDepth int `yaml:"max_depth"`
	// MaxBatch bounds the records in one API batch.
	MaxBatch int `yaml:"max_batch"`
	// Workers is how many validators run in parallel (0 = one per core).
	Workers int `yaml:"workers"`
	// DeadLetterMaxAge and DeadLetterMaxBytes bound the dead-letter stream.
	DeadLetterMaxAge   time.Duration `yaml:"dead_letter_max_age"`
	DeadLetterMaxBytes int64         `yaml:"dead_letter_max_bytes"`
	// LogLevel is debug, info, warn or error.
	LogLevel string `yaml:"log_level"`
	// LogFormat is text (key=value lines) or json (one JSON object per
	// line, slog's JSON handler: for journald and log shippers).
	LogFormat string `yaml:"log_format"`
	// SubscriptionGrace is how long a subscription whose actor lost the
	// right to it keeps its position (paused) before it is removed; 0
	// removes it at once.
	SubscriptionGrace time.Duration `yaml:"subscription_grace"`
	// TLSCert and TLSKey, when set, make the NATS client port and the HTTP
	// API serve TLS only (PEM files; reloaded on SIGHUP).
	TLSCert string `yaml:"tls_cert"`
	TLSKey  string `yaml:"tls_key"`
	// TLSClientCA, when set, makes both listeners require a client
	// certificate signed by a CA in this PEM file (mutual TLS).
	TLSClientCA string `yaml:"tls_client_ca"`
	// AuditAnchorKey is the key that signs the audit log's anchors, seals
	// and checkpoints, created on first use. It must not be in the data
	// dir. Empty: anchor.nk in the audit folder beside the data dir (see
	// AuditDir).
	AuditAnchorKey string `yaml:"audit_anchor_key"`
	// AuditAnchorFile is where each anchor is appended as a JSON line; the
	// hub compares its log with the file's last anchor. Not in the data
	// dir. Empty: anchors.ndjson in the audit folder beside the data dir.
	AuditAnchorFile string `yaml:"audit_anchor_file"`
	// AuditAnchorInterval is how often the chain's head is anchored while
	// it moves (and at shutdown).
	AuditAnchorInterval time.Duration `yaml:"audit_anchor_interval"`
	// AuditMaxAge is the audit log's retention: entries older than it are
	// removed under a signed checkpoint. 0 keeps every entry.
	AuditMaxAge time.Duration `yaml:"audit_max_age"`

	// What one client may hold of the hub (see internal/httpserve): the
	// HTTP server's timeouts and header limit, connections per client
	// address and in total (0 = derived from the file descriptor limit;
	// -1 = no cap), and NATS connections per actor and in total.
	HTTPReadHeaderTimeout time.Duration `yaml:"http_read_header_timeout"`
	HTTPReadTimeout       time.Duration `yaml:"http_read_timeout"`
	HTTPWriteTimeout      time.Duration `yaml:"http_write_timeout"`
	HTTPIdleTimeout       time.Duration `yaml:"http_idle_timeout"`
	HTTPMaxHeaderBytes    int           `yaml:"http_max_header_bytes"`
	HTTPMaxConnsPerIP     int           `yaml:"http_max_conns_per_ip"`
	HTTPMaxConns          int           `yaml:"http_max_conns"`
	NATSMaxConns          int           `yaml:"nats_max_conns"`
	MaxConnsPerActor      int           `yaml:"max_conns_per_actor"`
	// MaxBatchBytes bounds one API batch body; BatchConcurrency is how many
	// batches are worked on at once (more wait, then get 503); and
	// BatchInflightBytes bounds the records of all batches read but not yet
	// answered, so batch memory stays bounded whatever clients send.
	MaxBatchBytes      int64 `yaml:"max_batch_bytes"`
	BatchConcurrency   int   `yaml:"batch_concurrency"`
	BatchInflightBytes int64 `yaml:"batch_inflight_bytes"`
	// JetStreamSyncInterval is how often JetStream syncs its files to disk.
	JetStreamSyncInterval time.Duration `yaml:"jetstream_sync_interval"`
	// MetricsListen, when set, serves the Prometheus metrics at /metrics on
	// this address of its own (host:port), without the admin token: keep it
	// on loopback or a monitoring network. The admin API serves them at
	// /api/v1/metrics behind the token either way.
	MetricsListen string `yaml:"metrics_listen"`
	// PublicRateLimit is how many open-data downloads one client address
	// may start per minute (burst: the same number); 0 = 30.
	PublicRateLimit int `yaml:"public_rate_limit"`
	// SessionMaxAge bounds a web sign-in (admin or actor); 0 = 8h.
	SessionMaxAge time.Duration `yaml:"session_max_age"`

	// The cluster settings (cluster.go).
	Cluster `yaml:",inline"`
}

// Default returns the settings `hub serve` uses when told nothing.
func Default() Config {
	return Config{
		Name:                  "hub",
		Data:                  "data",
		NATSListen:            "127.0.0.1:4222",
		HTTPListen:            "127.0.0.1:8080",
		Schemas:               "schemas",
		Policies:              "policies",
		MaxRecordBytes:        schema.DefaultMaxBytes,
		MaxDepth:              schema.DefaultMaxDepth,
		MaxBatch:              10000,
		DeadLetterMaxAge:      30 * 24 * time.Hour,
		DeadLetterMaxBytes:    1 << 30,
		LogLevel:              "info",
		LogFormat:             "text",
		SubscriptionGrace:     7 * 24 * time.Hour,
		AuditAnchorInterval:   time.Minute,
		HTTPReadHeaderTimeout: 10 * time.Second,
		HTTPReadTimeout:       60 * time.Second,
		HTTPWriteTimeout:      30 * time.Second,
		HTTPIdleTimeout:       60 * time.Second,
		HTTPMaxHeaderBytes:    64 << 10,
		HTTPMaxConnsPerIP:     64,
		MaxConnsPerActor:      100,
		MaxBatchBytes:         64 << 20,
		BatchConcurrency:      8,
		BatchInflightBytes:    32 << 20,
		JetStreamSyncInterval: 2 * time.Minute,
	}
}

// AuditDir is the default folder of the audit anchor key and file: beside
// the data dir, named after it ("data" → "data-audit"), so that deleting,
// restoring or copying the data dir leaves the anchors and the key behind.
func (c Config) AuditDir() string {
	d := filepath.Clean(c.Data)
	if b := filepath.Base(d); b == "." || b == ".." || b == string(filepath.Separator) {
		if abs, err := filepath.Abs(d); err == nil {
			d = abs
		}
	}
	return d + "-audit"
}

// AnchorKeyPath is the audit anchor key's file.
func (c Config) AnchorKeyPath() string {
	if c.AuditAnchorKey != "" {
		return c.AuditAnchorKey
	}
	return filepath.Join(c.AuditDir(), "anchor.nk")
}

// AnchorFilePath is the audit anchor file.
func (c Config) AnchorFilePath() string {
	if c.AuditAnchorFile != "" {
		return c.AuditAnchorFile
	}
	return filepath.Join(c.AuditDir(), "anchors.ndjson")
}

// inside reports whether path is dir or lies below it.
func inside(path, dir string) bool {
	p, err1 := filepath.Abs(path)
	d, err2 := filepath.Abs(dir)
	if err1 != nil || err2 != nil {
		return false
	}
	rel, err := filepath.Rel(d, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// Load reads a YAML config file over the defaults. Unknown keys are errors.
func Load(path string) (Config, error) {
	c := Default()
	b, err := os.ReadFile(path)
	if err != nil {
		return c, fmt.Errorf("read config: %w", err)
	}
	if err := strictyaml.Decode(b, &c, yaml.DisallowUnknownField()); err != nil {
		return c, fmt.Errorf("config %s: %s", path, yaml.FormatError(err, false, true))
	}
	if err := c.Validate(); err != nil {
		return c, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// Limits are the record limits the settings ask for.
func (c Config) Limits() schema.Limits {
	return schema.Limits{MaxBytes: c.MaxRecordBytes, MaxDepth: c.MaxDepth}
}

// Validate reports every bad setting, each naming its key.
func (c Config) Validate() error {
	var errs []error
	bad := func(key, format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, a...)))
	}
	if !wire.ValidName(c.Name) {
		bad("name", "%q must match [a-z][a-z0-9-]{0,62}", c.Name)
	}
	if strings.TrimSpace(c.Data) == "" {
		bad("data", "must not be empty")
	}
	for key, v := range map[string]string{"nats_listen": c.NATSListen, "http_listen": c.HTTPListen} {
		if _, _, err := net.SplitHostPort(v); err != nil {
			bad(key, "%q is not host:port: %v", v, err)
		}
	}
	if c.MetricsListen != "" {
		if _, _, err := net.SplitHostPort(c.MetricsListen); err != nil {
			bad("metrics_listen", "%q is not host:port: %v", c.MetricsListen, err)
		}
	}
	if c.PublicRateLimit < 0 {
		bad("public_rate_limit", "%d must not be negative (0 = the default, 30 a minute)", c.PublicRateLimit)
	}
	if c.SessionMaxAge != 0 && (c.SessionMaxAge < time.Minute || c.SessionMaxAge > 30*24*time.Hour) {
		bad("session_max_age", "%s must be 0 (8h) or between 1m and 720h", c.SessionMaxAge)
	}
	if c.MaxRecordBytes < 1 || c.MaxRecordBytes > 32<<20 {
		bad("max_record_bytes", "%d must be between 1 and %d", c.MaxRecordBytes, 32<<20)
	}
	if c.MaxDepth < 1 || c.MaxDepth > 1000 {
		bad("max_depth", "%d must be between 1 and 1000", c.MaxDepth)
	}
	if c.MaxBatch < 1 {
		bad("max_batch", "%d must be at least 1", c.MaxBatch)
	}
	if c.Workers < 0 {
		bad("workers", "%d must not be negative", c.Workers)
	}
	for key, d := range map[string]time.Duration{"http_read_header_timeout": c.HTTPReadHeaderTimeout, "http_read_timeout": c.HTTPReadTimeout,
		"http_write_timeout": c.HTTPWriteTimeout, "http_idle_timeout": c.HTTPIdleTimeout, "jetstream_sync_interval": c.JetStreamSyncInterval} {
		if d <= 0 {
			bad(key, "%s must be more than 0", d)
		}
	}
	if c.HTTPMaxHeaderBytes < 1<<10 || c.HTTPMaxHeaderBytes > 1<<20 {
		bad("http_max_header_bytes", "%d must be between 1024 and %d", c.HTTPMaxHeaderBytes, 1<<20)
	}
	for key, n := range map[string]int{"http_max_conns_per_ip": c.HTTPMaxConnsPerIP, "http_max_conns": c.HTTPMaxConns,
		"nats_max_conns": c.NATSMaxConns, "max_conns_per_actor": c.MaxConnsPerActor} {
		if n < -1 {
			bad(key, "%d must be a number of connections, 0 for the default or -1 for no cap", n)
		}
	}
	if c.MaxBatchBytes < 1 {
		bad("max_batch_bytes", "%d must be at least 1", c.MaxBatchBytes)
	}
	if c.BatchConcurrency < 1 {
		bad("batch_concurrency", "%d must be at least 1", c.BatchConcurrency)
	}
	if c.BatchInflightBytes < int64(c.MaxRecordBytes)+64<<10 {
		bad("batch_inflight_bytes", "%d must hold at least one record (max_record_bytes + 64 KiB)", c.BatchInflightBytes)
	}
	if c.SubscriptionGrace < 0 {
		bad("subscription_grace", "%s must not be negative", c.SubscriptionGrace)
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		bad("tls_cert, tls_key", "give both or neither (got tls_cert %q, tls_key %q)", c.TLSCert, c.TLSKey)
	}
	if c.TLSClientCA != "" && c.TLSCert == "" {
		bad("tls_client_ca", "mutual TLS needs the hub's own certificate too: set tls_cert and tls_key")
	}
	for key, path := range map[string]string{"audit_anchor_key": c.AnchorKeyPath(), "audit_anchor_file": c.AnchorFilePath()} {
		if strings.TrimSpace(c.Data) != "" && inside(path, c.Data) {
			bad(key, "%q is inside the data dir %q: the anchors must be kept apart from the log they anchor", path, c.Data)
		}
	}
	if c.AuditAnchorInterval < time.Second {
		bad("audit_anchor_interval", "%s must be at least 1s", c.AuditAnchorInterval)
	}
	if c.AuditMaxAge != 0 && c.AuditMaxAge < time.Hour {
		bad("audit_max_age", "%s must be 0 (keep every entry) or at least 1h", c.AuditMaxAge)
	}
	errs = append(errs, c.validateCluster()...)
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("log_level", "%q must be debug, info, warn or error", c.LogLevel)
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		bad("log_format", "%q must be text or json", c.LogFormat)
	}
	return errors.Join(errs...)
}
