package webhook

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/jobtech-dev/datahub/connector-kit/plugin"
)

// Defaults for the zero values of Config.
const (
	DefaultBatch          = 1
	DefaultTimeout        = 10 * time.Second
	DefaultMaxRetries     = 10
	DefaultBackoffInitial = 200 * time.Millisecond
	DefaultBackoffMax     = 30 * time.Second
)

// Config is the webhook sink's YAML config section. Zero values take the
// defaults above; url and one of secret or secret_env are required.
type Config struct {
	// URL receives the POSTs (http or https).
	URL string `yaml:"url"`
	// Secret is the HMAC key for X-Hub-Signature-256.
	Secret string `yaml:"secret"`
	// SecretEnv names an environment variable holding the secret, so the
	// config file can be committed; used when Secret is empty.
	SecretEnv string `yaml:"secret_env"`
	// Batch is the most records per POST (default 1: one envelope object
	// per POST; above 1 every POST carries a JSON array).
	Batch int `yaml:"batch"`
	// Timeout bounds one attempt (default 10s).
	Timeout time.Duration `yaml:"timeout"`
	// MaxRetries is how many times a retryable failure is retried: 0 means
	// the default 10 (so up to 11 attempts), -1 means no retries.
	MaxRetries int `yaml:"max_retries"`
	// BackoffInitial is the first backoff ceiling (default 200ms); it
	// doubles per retry up to BackoffMax (default 30s), and the wait is
	// drawn uniformly below it (full jitter).
	BackoffInitial time.Duration `yaml:"backoff_initial"`
	BackoffMax     time.Duration `yaml:"backoff_max"`
	// Headers are added to every POST; they may not replace the signature,
	// timestamp, delivery or content-type headers.
	Headers map[string]string `yaml:"headers"`
}

// reserved are the headers the sink owns.
var reserved = map[string]bool{
	HeaderTimestamp: true, HeaderSignature: true, HeaderDelivery: true,
	"Content-Type": true, "Content-Length": true, "Host": true,
}

// ParseConfig decodes a YAML config section strictly and checks it; every
// error wraps plugin.ErrInvalidConfig.
func ParseConfig(conf []byte) (Config, error) {
	var c Config
	if err := plugin.DecodeConfig(conf, &c); err != nil {
		return c, fmt.Errorf("webhook: %w", err)
	}
	return c, nil
}

// resolved is a checked Config with defaults applied and the secret read.
type resolved struct {
	url            string
	secret         []byte
	batch          int
	timeout        time.Duration
	maxRetries     int
	backoffInitial time.Duration
	backoffMax     time.Duration
	headers        http.Header
}

func (c Config) resolve() (resolved, error) {
	bad := func(format string, a ...any) (resolved, error) {
		return resolved{}, fmt.Errorf("webhook: %w: %s", plugin.ErrInvalidConfig, fmt.Sprintf(format, a...))
	}
	r := resolved{
		url: c.URL, batch: c.Batch, timeout: c.Timeout, maxRetries: c.MaxRetries,
		backoffInitial: c.BackoffInitial, backoffMax: c.BackoffMax, headers: http.Header{},
	}
	u, err := url.Parse(c.URL)
	if c.URL == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return bad("url: want an absolute http(s) URL, got %q", c.URL)
	}
	switch {
	case c.Secret != "" && c.SecretEnv != "":
		return bad("secret and secret_env: set one, not both")
	case c.Secret != "":
		r.secret = []byte(c.Secret)
	case c.SecretEnv != "":
		v, ok := os.LookupEnv(c.SecretEnv)
		if !ok || v == "" {
			return bad("secret_env: environment variable %s is not set", c.SecretEnv)
		}
		r.secret = []byte(v)
	default:
		return bad("secret or secret_env is required (the HMAC key)")
	}
	if r.batch < 0 {
		return bad("batch: %d is negative", r.batch)
	}
	if r.batch == 0 {
		r.batch = DefaultBatch
	}
	if r.timeout < 0 || r.backoffInitial < 0 || r.backoffMax < 0 {
		return bad("timeout, backoff_initial and backoff_max may not be negative")
	}
	if r.timeout == 0 {
		r.timeout = DefaultTimeout
	}
	switch {
	case r.maxRetries == 0:
		r.maxRetries = DefaultMaxRetries
	case r.maxRetries == -1:
		r.maxRetries = 0
	case r.maxRetries < -1:
		return bad("max_retries: %d (use -1 for no retries)", r.maxRetries)
	}
	if r.backoffInitial == 0 {
		r.backoffInitial = DefaultBackoffInitial
	}
	if r.backoffMax == 0 {
		r.backoffMax = max(DefaultBackoffMax, r.backoffInitial)
	}
	if r.backoffMax < r.backoffInitial {
		return bad("backoff_max %s is below backoff_initial %s", r.backoffMax, r.backoffInitial)
	}
	for k, v := range c.Headers {
		ck := http.CanonicalHeaderKey(k)
		if reserved[ck] {
			return bad("headers: %s is set by the sink", ck)
		}
		r.headers.Set(ck, v)
	}
	return r, nil
}
