package outbox

import (
	"fmt"
	"log/slog"
	"time"
)

// Defaults used when no [Option] says otherwise.
const (
	DefaultSegmentBytes   = 64 << 20 // 64 MiB
	DefaultMaxRecordBytes = 8 << 20  // 8 MiB
	DefaultMaxBytes       = 1 << 30  // 1 GiB
	DefaultFloorInterval  = 200 * time.Millisecond
)

// Option configures an [Outbox] at [Open]. An option given a value it cannot
// use makes Open fail with an error wrapping [ErrInvalidOption].
type Option func(*options) error

type options struct {
	logger         *slog.Logger
	segmentBytes   int64
	maxRecordBytes int
	maxBytes       int64
	floorInterval  time.Duration
	earlyNext      bool
}

func defaultOptions() options {
	return options{
		logger:         slog.New(slog.DiscardHandler),
		segmentBytes:   DefaultSegmentBytes,
		maxRecordBytes: DefaultMaxRecordBytes,
		maxBytes:       DefaultMaxBytes,
		floorInterval:  DefaultFloorInterval,
	}
}

// WithLogger sets the logger for recovery (a torn tail cut off at Open) and
// background failures. By default nothing is logged.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		if l == nil {
			l = slog.New(slog.DiscardHandler) // nil means discard, as everywhere
		}
		o.logger = l
		return nil
	}
}

// WithSegmentBytes sets the size at which a new segment file is started
// (default [DefaultSegmentBytes]). Acknowledged records are deleted a whole
// segment at a time.
func WithSegmentBytes(n int64) Option {
	return func(o *options) error {
		if n < 1 {
			return fmt.Errorf("%w: segment bytes %d", ErrInvalidOption, n)
		}
		o.segmentBytes = n
		return nil
	}
}

// WithMaxRecordBytes sets the largest encoded record (dataset, id and data,
// plus 11 to 29 bytes of encoding) that [Outbox.Append] accepts (default
// [DefaultMaxRecordBytes]); larger ones get [ErrTooLarge]. It cannot exceed
// 1 GiB, the limit of the file format.
func WithMaxRecordBytes(n int) Option {
	return func(o *options) error {
		if n < minPayloadSize || n > maxPayloadSize {
			return fmt.Errorf("%w: max record bytes %d (want %d..%d)", ErrInvalidOption, n, minPayloadSize, maxPayloadSize)
		}
		o.maxRecordBytes = n
		return nil
	}
}

// WithMaxBytes bounds the bytes of records appended and not yet acknowledged
// (default [DefaultMaxBytes]); beyond it [Outbox.Append] returns [ErrFull].
// The disk may hold up to one segment more, plus acknowledged segments not
// yet deleted (at most one floor interval old).
func WithMaxBytes(n int64) Option {
	return func(o *options) error {
		if n < 1 {
			return fmt.Errorf("%w: max bytes %d", ErrInvalidOption, n)
		}
		o.maxBytes = n
		return nil
	}
}

// WithFloorInterval sets how often, at most, the acked floor is written to
// disk (default [DefaultFloorInterval]); it is always written on Close. After
// a crash, records acked within the last interval are handed out again.
func WithFloorInterval(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("%w: floor interval %v", ErrInvalidOption, d)
		}
		o.floorInterval = d
		return nil
	}
}

// WithEarlyNext makes [Outbox.Next] hand out a record as soon as it is
// appended, while its fsync may still be under way, so a forwarder sends it
// to the hub during the fsync instead of after it. [Outbox.Append] still
// returns only once the record is fsynced, so whoever answers a client after
// Append answers only for durable records. What changes is the crash window:
// a record may reach the hub and then be lost from the outbox by a crash
// before its fsync; its Append never returned, so its client was never
// answered and sends it again under its id (delivery stays at least once).
// An early record may be acked at once; the acked floor written to disk
// never passes the records fsynced, so a crash never leaves a floor beyond
// the last record. After a failed write, Next hands out fsynced records only.
func WithEarlyNext() Option {
	return func(o *options) error {
		o.earlyNext = true
		return nil
	}
}
