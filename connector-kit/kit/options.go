package kit

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/jobtech-dev/datahub/connector-kit/schema"
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
	onState      func(ConnState)
}

func defaults() options {
	return options{name: "jobtech-kit", log: slog.Default(), timeout: 10 * time.Second, validate: true, window: 1024, schemaTTL: 5 * time.Minute, reconnectMin: 250 * time.Millisecond}
}

// WithName names the connection (shown in the hub's monitoring).
func WithName(name string) Option {
	return func(o *options) error { o.name = name; return nil }
}

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		if l == nil {
			return fmt.Errorf("%w: nil logger", ErrInvalidOption)
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

type publishOptions struct{ id string }

// WithRecordID sets the record id; a retry with the same id is stored once.
// Without it the kit generates a UUIDv7 before the first attempt.
func WithRecordID(id string) PublishOption { return func(p *publishOptions) { p.id = id } }
