package kit

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/jobtech-dev/datahub/connector-kit/schema"
	"github.com/jobtech-dev/datahub/internal/pemfile"
)

// Option configures a Client.
type Option func(*options) error

type options struct {
	name         string
	log          *slog.Logger
	timeout      time.Duration
	validate     bool
	limits       schema.Limits
	window       int
	schemaTTL    time.Duration
	natsOpts     []nats.Option
	reconnectMin time.Duration
	tls          *tls.Config
	caFile       string
	certFile     string
	keyFile      string
	onState      func(ConnState)
}

func defaults() options {
	return options{name: "jobtech-kit", log: slog.New(slog.DiscardHandler), timeout: 10 * time.Second, validate: true, window: 1024, schemaTTL: 5 * time.Minute, reconnectMin: 250 * time.Millisecond}
}

// WithName names the connection (shown in the hub's monitoring).
func WithName(name string) Option {
	return func(o *options) error { o.name = name; return nil }
}

// WithLogger sets the logger; without one (or with nil) the kit logs
// nothing.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		if l == nil {
			l = slog.New(slog.DiscardHandler)
		}
		o.log = l
		return nil
	}
}

// WithTimeout bounds a call when its context has no deadline (default 10s).
func WithTimeout(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("%w: timeout %s", ErrInvalidOption, d)
		}
		o.timeout = d
		return nil
	}
}

// WithLocalValidation turns the local schema check on (default) or off.
func WithLocalValidation(on bool) Option {
	return func(o *options) error { o.validate = on; return nil }
}

// WithLimits sets the record limits the local check applies.
func WithLimits(l schema.Limits) Option {
	return func(o *options) error { o.limits = l; return nil }
}

// WithWindow bounds the records in flight to the hub (default 1024).
func WithWindow(n int) Option {
	return func(o *options) error {
		if n < 1 {
			return fmt.Errorf("%w: window %d", ErrInvalidOption, n)
		}
		o.window = n
		return nil
	}
}

// WithNATSOptions adds options to the underlying NATS connection.
func WithNATSOptions(opts ...nats.Option) Option {
	return func(o *options) error { o.natsOpts = append(o.natsOpts, opts...); return nil }
}

// WithCA makes the client trust only the CA certificates in file (PEM) for
// the hub's TLS certificate, and require TLS: a hub serving plain NATS is
// refused. The hub's certificate must also name the host the URL names. The
// file is read again at each reconnect, so a rotated CA file is picked up.
// Without WithCA a tls:// URL is verified against the system's CAs.
func WithCA(file string) Option {
	return func(o *options) error {
		if _, err := pemfile.CertPool(file); err != nil {
			return fmt.Errorf("%w: %v", ErrInvalidOption, err)
		}
		o.caFile = file
		return nil
	}
}

// WithClientCert presents the certificate in certFile (with its key in
// keyFile, both PEM) to a hub that requires mutual TLS. It adds to the
// actor's nkey; it does not replace it.
func WithClientCert(certFile, keyFile string) Option {
	return func(o *options) error {
		if _, err := tls.LoadX509KeyPair(certFile, keyFile); err != nil {
			return fmt.Errorf("%w: client certificate %s with key %s: %v", ErrInvalidOption, certFile, keyFile, err)
		}
		o.certFile, o.keyFile = certFile, keyFile
		return nil
	}
}

// WithTLSFiles is WithCA and WithClientCert as a connector's flags and
// config give them: an empty caFile leaves the CAs alone, an empty certFile
// and keyFile present no client certificate.
func WithTLSFiles(caFile, certFile, keyFile string) Option {
	return func(o *options) error {
		if caFile != "" {
			if err := WithCA(caFile)(o); err != nil {
				return err
			}
		}
		if certFile != "" || keyFile != "" {
			return WithClientCert(certFile, keyFile)(o)
		}
		return nil
	}
}

// WithTLSConfig sets the whole TLS configuration of the hub connection, for
// what WithCA and WithClientCert do not cover (certificates held in memory,
// a pinned server name). TLS is then required. WithCA and WithClientCert,
// when also given, fill in its CAs and certificate.
func WithTLSConfig(cfg *tls.Config) Option {
	return func(o *options) error {
		if cfg == nil {
			return fmt.Errorf("%w: nil TLS config", ErrInvalidOption)
		}
		o.tls = cfg
		return nil
	}
}

// tlsOptions are the NATS options that carry the TLS settings.
func (o *options) tlsOptions() []nats.Option {
	var out []nats.Option
	if o.tls != nil {
		out = append(out, nats.Secure(o.tls))
	}
	if o.caFile != "" {
		out = append(out, nats.RootCAs(o.caFile))
	}
	if o.certFile != "" {
		out = append(out, nats.ClientCert(o.certFile, o.keyFile))
	}
	return out
}

// WithStateHandler has fn called each time the connection's state changes:
// lost, a failed attempt to get it back (the hub away, or refusing the key),
// back up. Calls come one at a time, in order, and stop at Close; fn must
// return quickly and must not call the Client except State. The sidecar
// uses it to log an outage once, not at every attempt.
func WithStateHandler(fn func(ConnState)) Option {
	return func(o *options) error { o.onState = fn; return nil }
}

// PublishOption tunes one Publish.
type PublishOption func(*publishOptions)

type publishOptions struct {
	id      string
	version int
}

// WithRecordID sets the record id; a retry with the same id is stored once.
// Without it the kit generates a UUIDv7 before the first attempt.
func WithRecordID(id string) PublishOption { return func(p *publishOptions) { p.id = id } }

// WithSchemaVersion pins the schema version (a registered version's number)
// the record is validated against, by the kit's local check and by the hub;
// without it the dataset's latest version applies. The stored record names
// the version either way. A version the dataset does not have refuses the
// record (a *ValidationError).
func WithSchemaVersion(n int) PublishOption { return func(p *publishOptions) { p.version = n } }
