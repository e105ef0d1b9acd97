package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
)

// Record is one record flowing through a connector.
type Record struct {
	// Dataset the record belongs to.
	Dataset string
	// ID is the record id: set by a source that has a stable one (so a
	// re-read after a crash is stored once), and by the hub on delivery.
	ID string
	// Data is the record's JSON.
	Data json.RawMessage
	// Envelope is the hub's metadata for records delivered by the hub; nil
	// for records on their way in.
	Envelope *wire.Envelope
}

// EnvelopeOf is r's envelope: the hub's when it has one, else one built
// from the record's own fields (for sinks fed by something other than the
// hub).
func EnvelopeOf(r Record) wire.Envelope {
	if r.Envelope == nil {
		return wire.Envelope{ID: r.ID, Dataset: r.Dataset, Data: r.Data}
	}
	e := *r.Envelope
	if e.ID == "" {
		e.ID = r.ID
	}
	if e.Dataset == "" {
		e.Dataset = r.Dataset
	}
	if e.Data == nil {
		e.Data = r.Data
	}
	return e
}

// AckFunc reports a record's fate to its source: nil when the hub stored it
// (or the sink delivered it), else why not. The source may forget the record
// only after an ack; a nack (non-nil error) means it must be read again later,
// unless the error is permanent (see Permanent).
type AckFunc func(ctx context.Context, err error) error

// Source reads records from outside the hub. The runner (package
// connector-kit/runner, used by the sidecar too) keeps these promises:
//
//   - Connect is called before the first Read, and again, with backoff,
//     until it succeeds; a *BackoffError it returns sets the wait.
//   - Read is called by one goroutine at a time. It returns the next record
//     and its AckFunc, ErrEndOfInput when there is nothing more ever (the
//     runner then stops), ErrNotConnected when the source must reconnect
//     (Connect is called again), or a *BackoffError to wait before the next
//     Read. Any other error is logged and Read is called again after a
//     pause.
//   - Each record's AckFunc is called exactly once, with nil when the hub
//     stored it, a Permanent error when the hub refused it for good, or
//     another error when it could not be stored now (the source must hand
//     it out again later).
//   - Close is called once, when the runner stops, whatever happened.
type Source interface {
	Connect(ctx context.Context) error
	Read(ctx context.Context) (Record, AckFunc, error)
	Close(ctx context.Context) error
}

// Sink writes the hub's records outside. The runner keeps these promises:
//
//   - Connect is called before the first Write, and again, with backoff,
//     until it succeeds; also after a Write returned ErrNotConnected.
//   - Write (or WriteBatch) is called by one goroutine at a time, with the
//     dataset's records in order. nil means the record was delivered: it is
//     acked to the hub and never given again. An error means it was not:
//     the same record comes again, after the wait of a *BackoffError or the
//     runner's backoff — so a sink delivers each record at least once.
//   - Close is called once, when the runner stops; it should flush.
type Sink interface {
	Connect(ctx context.Context) error
	Write(ctx context.Context, r Record) error
	Close(ctx context.Context) error
}

// BatchSink is a Sink that can deliver several records at once; the runner
// finds it by type assertion and, when a batch size is configured, calls
// WriteBatch with up to that many records, in order. An error fails the
// whole batch, which comes again.
type BatchSink interface {
	Sink
	WriteBatch(ctx context.Context, rs []Record) error
}

// Errors that steer the runner.
var (
	// ErrNotConnected, from Read or Write, asks the runner to call Connect
	// again (with backoff) before going on.
	ErrNotConnected = errors.New("not connected")
	// ErrEndOfInput means the source is exhausted.
	ErrEndOfInput = errors.New("end of input")
	// ErrUnknownPlugin is returned for a type name nobody registered.
	ErrUnknownPlugin = errors.New("unknown plugin")
	// ErrInvalidConfig wraps every configuration error.
	ErrInvalidConfig = errors.New("invalid plugin config")
)

// BackoffError asks the caller to wait before trying again: returned by
// Connect, Read or Write (a rate-limited API, a Retry-After), the runner
// waits Wait instead of its own backoff.
type BackoffError struct {
	Wait time.Duration
	Err  error
}

func (e *BackoffError) Error() string { return fmt.Sprintf("%v (retry in %s)", e.Err, e.Wait) }
func (e *BackoffError) Unwrap() error { return e.Err }

// RetryAfter is how long to wait; the kit's subscriptions honour it.
func (e *BackoffError) RetryAfter() time.Duration { return e.Wait }

// permanent marks an error that retrying cannot fix.
type permanent struct{ err error }

func (p permanent) Error() string { return p.err.Error() }
func (p permanent) Unwrap() error { return p.err }

// Permanent marks err as one that retrying cannot fix (a record the hub
// rejected as invalid): a source acked with it moves on.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanent{err}
}

// IsPermanent reports whether err was marked Permanent.
func IsPermanent(err error) bool {
	var p permanent
	return errors.As(err, &p)
}

// Resources are what the environment gives a plugin it builds.
type Resources struct {
	// Logger is where the plugin logs; the environment gives a plugin one
	// that discards when it is nil.
	Logger *slog.Logger
	// StateDir is a folder the plugin may keep durable state in (cursors,
	// dead-letter files); the runner makes one per configured plugin.
	StateDir string
}
