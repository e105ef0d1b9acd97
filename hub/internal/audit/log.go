package audit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// StreamName is the JetStream stream that holds the audit log.
const StreamName = "AUDIT"

// Subject is the one subject of [StreamName]; every entry is published to it.
const Subject = "audit.entries"

// Log is the audit log of one hub. Its methods are safe for concurrent use.
type Log struct {
	js   jetstream.JetStream
	opts options
	log  *slog.Logger

	mu       sync.Mutex // serialises Append and guards the fields below
	loaded   bool       // lastSeq and lastHash reflect the stream
	lastSeq  uint64     // the stream's last sequence, expected by the next publish
	lastHash string     // the hash of the last entry, the next entry's prev
}

// Open creates the audit stream, or updates it to the options, and reads the
// last entry so that appends continue the chain. It returns an error wrapping
// [ErrInvalidOption] for a bad option.
func Open(ctx context.Context, js jetstream.JetStream, opts ...Option) (*Log, error) {
	o := options{replicas: 1, attempts: 10}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	if o.logger == nil {
		o.logger = slog.New(slog.DiscardHandler)
	}
	l := &Log{js: js, opts: o, log: o.logger}
	if _, err := js.CreateOrUpdateStream(ctx, l.streamConfig()); err != nil {
		return nil, fmt.Errorf("ensure stream %s: %w", StreamName, err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.loadLast(ctx); err != nil {
		return nil, err
	}
	return l, nil
}

// streamConfig is the audit stream's configuration.
func (l *Log) streamConfig() jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        StreamName,
		Description: "the hub's audit log: a hash chain of admin changes, refusals and grant expiries",
		// Retention is the hub's (Trim, under a signed checkpoint), never
		// JetStream's own limits, which would cut entries silently.
		Subjects:   []string{Subject},
		Storage:    jetstream.FileStorage,
		Retention:  jetstream.LimitsPolicy,
		Discard:    jetstream.DiscardNew,
		MaxMsgs:    -1,
		MaxBytes:   -1,
		Replicas:   l.opts.replicas,
		DenyDelete: !l.opts.tamperable,
		DenyPurge:  !l.opts.tamperable,
	}
}

// loadLast reads the stream's last sequence and last entry. l.mu is held.
//
// The info is read before the entry: sequences only grow, so an entry below
// the info's last sequence means the tail was removed (the chain continues
// from the last entry that is left, and Verify reports the gap), and an entry
// above it was appended in between (its sequence is then the one to expect).
func (l *Log) loadLast(ctx context.Context) error {
	s, err := l.js.Stream(ctx, StreamName)
	if err != nil {
		return fmt.Errorf("audit stream %s: %w", StreamName, err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		return fmt.Errorf("audit stream %s: %w", StreamName, err)
	}
	lastSeq, lastHash := info.State.LastSeq, ""
	if info.State.Msgs > 0 {
		m, err := s.GetLastMsgForSubject(ctx, Subject)
		switch {
		case errors.Is(err, jetstream.ErrMsgNotFound):
			// The last entry cannot be read (damaged on disk: Verify
			// reports it), or everything went between the two reads (the
			// publish check sorts that out). The chain goes on from "".
			l.log.WarnContext(ctx, "audit log: the last entry cannot be read; the next entry starts from an empty prev", "last_seq", lastSeq)
		case err != nil:
			return fmt.Errorf("audit stream %s: read last entry: %w", StreamName, err)
		default:
			e, err := decode(m.Data, m.Sequence)
			if err != nil {
				return fmt.Errorf("audit stream %s: last entry: %w", StreamName, err)
			}
			lastHash = e.Hash
			lastSeq = max(lastSeq, m.Sequence)
		}
	}
	l.lastSeq, l.lastHash, l.loaded = lastSeq, lastHash, true
	return nil
}

// Append records e after the last entry and returns it as stored, with its
// time, prev, hash and sequence set. The caller's Time, Prev, Hash and Seq
// are ignored. It returns an error wrapping [ErrInvalidEntry] for an entry
// without a kind or with a detail that is not JSON, and [ErrConflict] when
// other writers won every attempt.
//
// Appends from one Log are serialised; appends from other Logs on the same
// stream (other hub nodes) are ordered by JetStream's expected-last-sequence
// check: a publish that lost the race re-reads the last entry and retries.
func (l *Log) Append(ctx context.Context, e Entry) (Entry, error) {
	e, err := normalize(e)
	if err != nil {
		return Entry{}, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.appendLocked(ctx, e, nil)
}

// onceIDPrefix starts the message id of an entry stored once (see
// [Writer.SubmitOnce]), within the stream's duplicate window.
const onceIDPrefix = "audit-once:"

// errMoved is returned by appendAfter when the log grew past the sequence
// the entry must follow.
var errMoved = errors.New("audit log moved on")

// appendAfter appends e only as the entry right after sequence last (a
// seal or checkpoint made from a verify up to last); else errMoved.
func (l *Log) appendAfter(ctx context.Context, e Entry, last uint64) (Entry, error) {
	e, err := normalize(e)
	if err != nil {
		return Entry{}, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.appendLocked(ctx, e, &last)
}

// appendLocked appends e (normalised) after the last entry, or, with
// after, only right after that sequence. l.mu is held.
func (l *Log) appendLocked(ctx context.Context, e Entry, after *uint64) (Entry, error) {
	var err error
	e.Seq = 0
	e.Time = time.Now().UTC().Round(0)
	for attempt := 1; attempt <= l.opts.attempts; attempt++ {
		if !l.loaded {
			if err := l.loadLast(ctx); err != nil {
				return Entry{}, err
			}
		}
		if after != nil && l.lastSeq != *after {
			return Entry{}, errMoved
		}
		e.Prev = l.lastHash
		if e.Hash, err = ComputeHash(e); err != nil {
			return Entry{}, fmt.Errorf("%w: %v", ErrInvalidEntry, err)
		}
		data, err := encode(e)
		if err != nil {
			return Entry{}, fmt.Errorf("%w: %v", ErrInvalidEntry, err)
		}
		popts := []jetstream.PublishOpt{jetstream.WithExpectStream(StreamName), jetstream.WithExpectLastSequence(l.lastSeq)}
		if e.once != "" {
			popts = append(popts, jetstream.WithMsgID(onceIDPrefix+e.once))
		}
		ack, err := l.js.Publish(ctx, Subject, data, popts...)
		if err == nil && ack.Duplicate {
			// Another writer (a node of the cluster) stored this event's
			// entry already: the chain moved on without this one.
			l.loaded = false
			e.Seq = ack.Sequence
			return e, nil
		}
		if err == nil {
			l.lastSeq, l.lastHash = ack.Sequence, e.Hash
			e.Seq = ack.Sequence
			return e, nil
		}
		// Whatever went wrong, the stream may have moved on (or, after a
		// timeout, stored this very entry): re-read before the next append.
		l.loaded = false
		if !isWrongLastSeq(err) {
			return Entry{}, fmt.Errorf("append %s entry to audit log: %w", e.Kind, err)
		}
		if err := l.loadLast(ctx); err != nil {
			return Entry{}, err
		}
		if after != nil {
			return Entry{}, errMoved
		}
		l.log.DebugContext(ctx, "audit append lost a race, retrying",
			"kind", e.Kind, "attempt", attempt, "last_seq", l.lastSeq)
		if attempt < l.opts.attempts {
			if err := backoff(ctx, attempt); err != nil {
				return Entry{}, fmt.Errorf("append %s entry to audit log: %w", e.Kind, err)
			}
		}
	}
	return Entry{}, fmt.Errorf("append %s entry to audit log after %d attempts: %w", e.Kind, l.opts.attempts, ErrConflict)
}

// publicKey is the anchor key's public key, "" without one.
func (l *Log) publicKey() string {
	if l.opts.key == nil {
		return ""
	}
	pub, _ := l.opts.key.PublicKey()
	return pub
}

// isWrongLastSeq reports the JetStream error of a failed expected-last-
// sequence check (code 10071, or 10164 on replicated streams).
func isWrongLastSeq(err error) bool {
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	return apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
		apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant
}

// backoff waits a random time below 2^attempt ms (at most 100 ms) so that
// writers racing for the same sequence spread out.
func backoff(ctx context.Context, attempt int) error {
	limit := min(time.Duration(1<<attempt)*time.Millisecond, 100*time.Millisecond)
	t := time.NewTimer(rand.N(limit) + time.Millisecond)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
