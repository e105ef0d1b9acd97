package audit

import (
	"context"
	"errors"
	"fmt"
)

// Report is the outcome of [Log.Verify].
type Report struct {
	// Entries is the number of entries read.
	Entries int `json:"entries"`
	// OK is true when no problem was found.
	OK bool `json:"ok"`
	// Problems lists what is wrong, in stream order.
	Problems []Problem `json:"problems,omitempty"`
	// LastSeq is the last stream sequence verified.
	LastSeq uint64 `json:"last_seq"`
	// Head is the hash of the last entry verified. Written down elsewhere,
	// it lets a later Verify prove that the stream was not deleted and
	// rebuilt: the chain must still pass through it at LastSeq.
	Head string `json:"head"`
}

// Problem is one thing wrong with the log.
type Problem struct {
	// Seq is the stream sequence of the entry concerned: the changed,
	// reordered or forged entry, or the first one missing.
	Seq     uint64 `json:"seq"`
	Message string `json:"message"`
}

// errStop ends a read early without an error.
var errStop = errors.New("stop")

// Verify walks the whole log as it stands when Verify starts and checks that
// every entry's hash matches its canonical bytes, that each entry's prev is
// the hash of the entry before it ("" for the first) and that the stream
// sequences run from 1 without a gap. Entries appended while it runs are
// left for the next Verify. The error is for failing to read the log; what
// is wrong with the log itself is in the report.
//
// When the stream has a max age (see [WithMaxAge]), entries that aged out are
// not a problem: the chain is checked from the first entry left.
func (l *Log) Verify(ctx context.Context) (Report, error) {
	s, err := l.js.Stream(ctx, StreamName)
	if err != nil {
		return Report{}, fmt.Errorf("audit stream %s: %w", StreamName, err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		return Report{}, fmt.Errorf("audit stream %s: %w", StreamName, err)
	}
	last := info.State.LastSeq
	var (
		r        Report
		prevSeq  uint64
		prevHash string
		havePrev = true // whether prevHash is what the next entry must name
		seen     = make(map[string]uint64)
	)
	if info.Config.MaxAge > 0 && info.State.FirstSeq > 1 {
		prevSeq, havePrev = info.State.FirstSeq-1, false
	}
	add := func(seq uint64, format string, args ...any) {
		r.Problems = append(r.Problems, Problem{Seq: seq, Message: fmt.Sprintf(format, args...)})
	}
	err = consume(ctx, l.js, 0, last, false, func(data []byte, seq uint64) error {
		if seq > last {
			return errStop
		}
		if seq != prevSeq+1 {
			if seq == prevSeq+2 {
				add(prevSeq+1, "entry %d is missing: removed", prevSeq+1)
			} else {
				add(prevSeq+1, "entries %d to %d are missing: removed", prevSeq+1, seq-1)
			}
			havePrev = false // the entry after a gap names a removed one
		}
		prevSeq = seq
		e, err := decode(data, seq)
		if err != nil {
			add(seq, "not an audit entry: %v", err)
			havePrev = false
			return nil
		}
		r.Entries++
		r.LastSeq, r.Head = seq, e.Hash
		switch h, err := ComputeHash(e); {
		case err != nil:
			add(seq, "detail is not JSON: entry changed or forged")
		case h != e.Hash:
			add(seq, "hash mismatch (stored %.12s…, computed %.12s…): entry changed", e.Hash, h)
		}
		if havePrev && e.Prev != prevHash {
			switch k, ok := seen[e.Prev]; {
			case seq == 1:
				add(seq, "first entry names a previous entry: entries before it removed, or entry forged")
			case ok:
				add(seq, "prev names entry %d instead of entry %d: entries reordered", k, seq-1)
			default:
				add(seq, "prev does not match the hash of entry %d: that entry changed (hash recomputed), or this one reordered or forged", seq-1)
			}
		}
		seen[e.Hash] = seq
		prevHash, havePrev = e.Hash, true
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return Report{}, err
	}
	if prevSeq < last {
		if prevSeq+1 == last {
			add(last, "entry %d is missing: removed", last)
		} else {
			add(prevSeq+1, "entries %d to %d are missing: removed", prevSeq+1, last)
		}
	}
	r.OK = len(r.Problems) == 0
	return r, nil
}
