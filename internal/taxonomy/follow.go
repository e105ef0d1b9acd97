package taxonomy

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
)

// Source reads the taxonomy dataset: fn gets every record stored after
// stream sequence afterSeq, in order; without follow the read ends at the
// records stored when it started, with follow it goes on with the records
// stored later until ctx ends. The hub's reads the dataset's stream.
type Source func(ctx context.Context, afterSeq uint64, follow bool, fn func(wire.Envelope) error) error

// Follower keeps an [Index] equal to the taxonomy dataset: [Follower.Load]
// reads what is stored, [Follower.Run] then applies each record as it is
// stored. A concept record puts its concept (replacing the one with its id);
// a tombstone removes the concept of its key.
type Follower struct {
	idx *Index
	src Source
	log *slog.Logger
	seq atomic.Uint64 // the last stream sequence applied
	// Retry is the pause before a broken live read starts again (default 1s).
	Retry time.Duration
}

// NewFollower returns a follower filling idx from src. A nil log discards.
func NewFollower(idx *Index, src Source, log *slog.Logger) *Follower {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Follower{idx: idx, src: src, log: log.With("component", "taxonomy"), Retry: time.Second}
}

// Load applies every record stored now, and returns once they are in the
// index (the hub starts taking records only then). A read error is
// returned; records the source passed over are its own to report.
func (f *Follower) Load(ctx context.Context) error {
	start := time.Now()
	if err := f.src(ctx, f.seq.Load(), false, f.apply); err != nil {
		return err
	}
	f.log.Info("taxonomy loaded", "concepts", f.idx.Len(), "deprecated", f.idx.Deprecated(),
		"seq", f.seq.Load(), "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// Run applies the records stored after the last one applied, as they are
// stored, until ctx ends. A read that breaks is logged and started again
// after the last record applied.
func (f *Follower) Run(ctx context.Context) {
	for ctx.Err() == nil {
		err := f.src(ctx, f.seq.Load(), true, f.apply)
		if ctx.Err() != nil {
			return
		}
		f.log.Warn("taxonomy follow read ended; starting again", "after_seq", f.seq.Load(), "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(f.Retry):
		}
	}
}

// Seq is the stream sequence of the last record applied.
func (f *Follower) Seq() uint64 { return f.seq.Load() }

// apply puts one record read from the dataset into the index.
func (f *Follower) apply(e wire.Envelope) error {
	f.Apply(e)
	f.seq.Store(e.Seq)
	return nil
}

// Apply puts one stored record of the taxonomy dataset into the index: the
// hub's ingest calls it as it stores one, before answering its publisher, so
// that the publisher's next record is checked against it; the follower's
// read applies it again (the index keeps the latest record per concept).
// It does not move the follower's read.
func (f *Follower) Apply(e wire.Envelope) {
	before := f.idx.Len()
	defer func() {
		if before == 0 && f.idx.Len() > 0 {
			f.log.Info("the taxonomy holds concepts: taxonomy references are checked from now on", "seq", e.Seq)
		}
	}()
	if e.Tombstone {
		if f.idx.RemoveAt(e.Key, e.Seq) {
			f.log.Info("taxonomy concept removed", "id", e.Key, "seq", e.Seq)
		}
		return
	}
	c, err := ParseConcept(e.Data)
	if err != nil {
		// The dataset's schema let it in: say so, and go on.
		f.log.Warn("taxonomy record is not a concept; left out", "seq", e.Seq, "key", e.Key, "err", err)
		return
	}
	if c.ID != e.Key && e.Key != "" {
		f.log.Warn("taxonomy record's id is not its key; indexed by id", "seq", e.Seq, "key", e.Key, "id", c.ID)
	}
	f.idx.PutAt(c, e.Seq)
}
