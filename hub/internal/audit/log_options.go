package audit

import (
	"fmt"
	"log/slog"

	"github.com/nats-io/nkeys"
)

// Option configures [Open].
type Option func(*options) error

type options struct {
	replicas int
	attempts int
	logger   *slog.Logger
	key      nkeys.KeyPair
	// tamperable leaves DenyDelete and DenyPurge off; only tests set it
	// (export_test.go), to prove that Verify catches what the flags prevent.
	tamperable bool
}

// WithAnchorKey sets the anchor key: it signs seals, checkpoints and
// anchors, and Verify checks their signatures against it. Without one,
// [Log.Seal] and [Log.Trim] fail with [ErrNoKey] and Verify cannot honour a
// seal or a checkpoint.
func WithAnchorKey(kp nkeys.KeyPair) Option {
	return func(o *options) error {
		if kp == nil {
			return fmt.Errorf("%w: nil anchor key", ErrInvalidOption)
		}
		if _, err := kp.Seed(); err != nil {
			return fmt.Errorf("%w: anchor key without its seed cannot sign: %v", ErrInvalidOption, err)
		}
		o.key = kp
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
			l = slog.New(slog.DiscardHandler) // nil means discard, as everywhere
		}
		o.logger = l
		return nil
	}
}
