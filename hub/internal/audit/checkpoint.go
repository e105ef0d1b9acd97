package audit

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// KindAuditCheckpoint is the kind of a checkpoint entry (see [Log.Trim]).
const KindAuditCheckpoint = "audit.checkpoint"

// Checkpoint is what a checkpoint entry says about the prefix of the log
// that retention removed after writing it.
type Checkpoint struct {
	// TrimmedFrom and TrimmedTo are the stream sequences removed, over all
	// trims so far (TrimmedFrom is 1 unless the log began later).
	TrimmedFrom uint64 `json:"trimmed_from"`
	TrimmedTo   uint64 `json:"trimmed_to"`
	// Removed counts the entries removed over all trims so far.
	Removed uint64 `json:"removed"`
	// FirstKept and FirstKeptHash are the entry the log starts with after
	// the trim and its hash: the chain is checked from there.
	FirstKept     uint64 `json:"first_kept"`
	FirstKeptHash string `json:"first_kept_hash"`
	// Before is the retention's limit: entries written before it went.
	Before time.Time `json:"before"`
	// SealedBreaks counts the acknowledged problems removed with the prefix,
	// over all trims so far.
	SealedBreaks int `json:"sealed_breaks"`
	// AppendedAfter is the stream's last sequence when the checkpoint was
	// made; the checkpoint is the entry right after it.
	AppendedAfter uint64 `json:"appended_after"`
	// Key is the anchor key that signed it.
	Key string `json:"key"`
}

// Trim removes the entries written before `before` (all but the last one
// when every entry is older), after appending a
// checkpoint entry, signed with the anchor key, that accounts for them:
// Verify then checks the chain from the first entry kept and reports the
// prefix as trimmed under that checkpoint, not as missing. A trim never
// removes a problem no seal acknowledged: it stops before the first one,
// so the evidence stays until an admin seals it.
//
// It returns the checkpoint entry, or a zero Entry when there is nothing to
// remove. It returns an error wrapping [ErrNoKey] when the Log has no
// anchor key.
//
// JetStream cannot purge the audit stream (it is created with DenyPurge,
// which cannot be cleared) and its own age limit would remove entries
// without a checkpoint. So the trim lowers the stream's message limit, for
// the moment of the call and with this Log's appends held, to the number of
// entries kept: JetStream then drops exactly the oldest ones, and the limit
// is lifted again.
func (l *Log) Trim(ctx context.Context, before time.Time) (Entry, error) {
	if l.opts.key == nil {
		return Entry{}, fmt.Errorf("trim: %w", ErrNoKey)
	}
	for attempt := 1; ; attempt++ {
		e, err := l.trimOnce(ctx, before)
		if errors.Is(err, errMoved) && attempt < 5 {
			continue
		}
		return e, err
	}
}

func (l *Log) trimOnce(ctx context.Context, before time.Time) (Entry, error) {
	type seen struct {
		seq  uint64
		hash string // "" for a message that is not a readable entry
	}
	var (
		older   []seen // every sequence read before the first entry to keep
		cut     seen   // the first entry to keep
		cutDone bool
	)
	rep, err := l.Verify(ctx, func(o *verifyOptions) {
		o.visit = func(seq uint64, e *Entry) {
			switch {
			case cutDone:
			case e != nil && !e.Time.Before(before):
				cut, cutDone = seen{seq, e.Hash}, true
			case e != nil:
				older = append(older, seen{seq, e.Hash})
			default:
				older = append(older, seen{seq: seq})
			}
		}
	})
	if err != nil {
		return Entry{}, err
	}
	if !cutDone {
		// Every entry is older than the limit: keep the last one, which
		// the checkpoint names as the first kept.
		for _, s := range older {
			if s.hash != "" {
				cut, cutDone = s, true
			}
		}
	}
	if bad := rep.FirstBad; bad > 0 && (!cutDone || cut.seq > bad) {
		// Keep the evidence: keep from the last readable entry at or
		// before the first problem left.
		cut, cutDone = seen{}, false
		for _, s := range older {
			if s.seq <= bad && s.hash != "" {
				cut, cutDone = s, true
			}
		}
	}
	if !cutDone || cut.seq <= rep.FirstSeq {
		return Entry{}, nil
	}
	var removed uint64
	for _, s := range older {
		if s.seq < cut.seq {
			removed++
		}
	}
	c := Checkpoint{
		TrimmedFrom: max(rep.FirstSeq, 1), TrimmedTo: cut.seq - 1, Removed: removed,
		FirstKept: cut.seq, FirstKeptHash: cut.hash, Before: before.UTC().Round(0),
		AppendedAfter: rep.streamLast, Key: l.publicKey(),
	}
	if prev := rep.Checkpoint; prev != nil {
		c.TrimmedFrom, c.Removed, c.SealedBreaks = prev.TrimmedFrom, prev.Removed+removed, prev.SealedBreaks
	}
	for _, s := range rep.Sealed {
		for _, p := range s.Problems {
			if p.Seq < cut.seq {
				c.SealedBreaks++
			}
		}
	}
	detail, err := signDetail(l.opts.key, "checkpoint", c)
	if err != nil {
		return Entry{}, err
	}
	e, err := normalize(Entry{Kind: KindAuditCheckpoint, Actor: "hub", Subject: fmt.Sprintf("seq %d to %d", c.TrimmedFrom, c.TrimmedTo), Detail: detail})
	if err != nil {
		return Entry{}, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if e, err = l.appendLocked(ctx, e, &rep.streamLast); err != nil {
		return Entry{}, err
	}
	if err := l.dropBefore(ctx, cut.seq, removed); err != nil {
		return e, fmt.Errorf("checkpoint written at seq %d, but trimming the entries before seq %d failed (the next trim retries): %w", e.Seq, cut.seq, err)
	}
	l.log.InfoContext(ctx, "audit log trimmed under a checkpoint", "checkpoint", e.Seq, "removed_to", c.TrimmedTo, "removed", removed, "before", c.Before)
	return e, nil
}

// dropBefore removes the removed messages below seq by lowering the
// stream's message limit for a moment. l.mu is held, so this Log appends
// nothing meanwhile.
func (l *Log) dropBefore(ctx context.Context, seq, removed uint64) error {
	s, err := l.js.Stream(ctx, StreamName)
	if err != nil {
		return err
	}
	info, err := s.Info(ctx)
	if err != nil {
		return err
	}
	if info.State.Msgs <= removed {
		return fmt.Errorf("stream holds %d messages, fewer than the %d to remove", info.State.Msgs, removed)
	}
	cfg := l.streamConfig()
	cfg.Discard, cfg.MaxMsgs = jetstream.DiscardOld, int64(info.State.Msgs-removed)
	_, err = l.js.UpdateStream(ctx, cfg)
	// Lift the limit again whatever happened.
	if _, rerr := l.js.UpdateStream(ctx, l.streamConfig()); rerr != nil && err == nil {
		err = rerr
	}
	if err != nil {
		return err
	}
	if info, err = s.Info(ctx); err != nil {
		return err
	}
	if info.State.FirstSeq != seq {
		return fmt.Errorf("the stream now starts at seq %d, not at %d: another writer appended during the trim", info.State.FirstSeq, seq)
	}
	return nil
}

// openCheckpoint checks a checkpoint entry's signature and position and
// returns what it says.
func openCheckpoint(e Entry, pub string) (Checkpoint, error) {
	var c Checkpoint
	if err := openDetail(e.Detail, "checkpoint", pub, &c, func() string { return c.Key }); err != nil {
		return c, err
	}
	if e.Seq != c.AppendedAfter+1 {
		return c, fmt.Errorf("it was made after seq %d but stands at seq %d: moved", c.AppendedAfter, e.Seq)
	}
	if c.FirstKept != c.TrimmedTo+1 || c.TrimmedFrom > c.TrimmedTo {
		return c, fmt.Errorf("it removes %d to %d but keeps %d first: inconsistent", c.TrimmedFrom, c.TrimmedTo, c.FirstKept)
	}
	return c, nil
}
