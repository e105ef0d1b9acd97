package audit

import (
	"fmt"
	"log/slog"
	"time"
)

// Option configures [Open].
type Option func(*options) error

type options struct {
	maxAge   time.Duration
	replicas int
	attempts int
	logger   *slog.Logger
	// tamperable leaves DenyDelete and DenyPurge off; only tests set it
	// (export_test.go), to prove that Verify catches what the flags prevent.
	tamperable bool
}

// WithMaxAge lets JetStream drop entries older than d. The default, 0, keeps
// every entry forever. Entries dropped by age leave the stream's first
// sequence above 1, which [Log.Verify] accepts when a max age is set.
func WithMaxAge(d time.Duration) Option {
	return func(o *options) error {
		if d < 0 {
			return fmt.Errorf("%w: negative max age %s", ErrInvalidOption, d)
		}
		o.maxAge = d
		return nil
	}
}

// WithReplicas sets the stream's number of replicas in a cluster (default 1).
func WithReplicas(n int) Option {
	return func(o *options) error {
		if n < 1 || n > 5 {
			return fmt.Errorf("%w: replicas %d not in 1..5", ErrInvalidOption, n)
		}
		o.replicas = n
		return nil
	}
}

// WithAttempts sets how many times [Log.Append] publishes before giving up
// with [ErrConflict] when other writers keep winning (default 10). Between
// attempts it waits a short random time.
func WithAttempts(n int) Option {
	return func(o *options) error {
		if n < 1 {
			return fmt.Errorf("%w: attempts %d below 1", ErrInvalidOption, n)
		}
		o.attempts = n
		return nil
	}
}

// WithLogger sets the logger for retries and other notes (default: discard).
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		if l == nil {
			return fmt.Errorf("%w: nil logger", ErrInvalidOption)
		}
		o.logger = l
		return nil
	}
}
