package jsread

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// directWindow is how many messages a read takes by direct get after a stall
// before it tries a consumer again (a read of the newest per subject stays
// direct to its end: a consumer cannot resume one).
const directWindow = 256

// direct reads on by sequence after a stall, from r.next: up to directWindow
// messages, or to the end. It reports done when a read without Follow got
// to its end.
//
// The server answers "not found" both when nothing matches from a sequence
// on and when the next matching message cannot be loaded, so a "not found"
// below the last sequence is checked with a get of that very sequence: the
// read steps over it (a gap, checked later) and asks again.
func (r *reader) direct(ctx context.Context) (bool, error) {
	end := r.end
	if r.o.Follow {
		info, err := r.s.Info(ctx)
		if err != nil {
			return false, fmt.Errorf("read stream %s: %w", r.stream, err)
		}
		end = info.State.LastSeq
	}
	if r.next == 0 {
		r.next = 1
	}
	filter := ">"
	if len(r.cfg.FilterSubjects) == 1 {
		filter = r.cfg.FilterSubjects[0]
	}
	read := 0
	for r.next <= end && (r.lps || read < directWindow) {
		seq := r.next
		m, err := r.s.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(filter))
		switch {
		case errors.Is(err, jetstream.ErrMsgNotFound):
			// Nothing loadable matches from seq on, or something in the
			// way cannot be loaded: look at seq itself.
			m, err = r.s.GetMsg(ctx, seq)
			switch {
			case errors.Is(err, jetstream.ErrMsgNotFound):
				r.gaps.add(seq, seq)
				r.next = seq + 1
				continue
			case err != nil:
				return false, fmt.Errorf("read stream %s at sequence %d: %w", r.stream, seq, err)
			case !r.matches(m.Subject):
				// A readable message of another subject: if nothing
				// matches after it either, the read is over.
				if last, ok := r.lastMatching(ctx); ok && last <= seq {
					r.next = end + 1
					continue
				}
				r.next = seq + 1
				continue
			}
		case err != nil:
			return false, fmt.Errorf("read stream %s at sequence %d: %w", r.stream, seq, err)
		}
		if m.Sequence > end {
			r.gaps.add(seq, end)
			r.next = end + 1
			break
		}
		r.passed(m.Sequence)
		if !r.matches(m.Subject) {
			continue
		}
		if r.lps {
			newest, err := r.newestUpTo(ctx, m, end)
			if err != nil {
				return false, err
			}
			if !newest {
				continue
			}
		}
		msg := &directMsg{raw: m, stream: r.stream}
		if err := r.fn(msg, msg.meta()); err != nil {
			return false, err
		}
		read++
	}
	return !r.o.Follow && r.next > end, nil
}

// newestUpTo reports whether m is the newest message of its subject stored
// at or below end. When the subject's newest message cannot be loaded, m is
// not it: an older revision is never passed off as the current one.
func (r *reader) newestUpTo(ctx context.Context, m *jetstream.RawStreamMsg, end uint64) (bool, error) {
	last, err := r.s.GetLastMsgForSubject(ctx, m.Subject)
	switch {
	case errors.Is(err, jetstream.ErrMsgNotFound):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("read stream %s: newest of %s: %w", r.stream, m.Subject, err)
	case last.Sequence == m.Sequence:
		return true, nil
	case last.Sequence <= end:
		return false, nil
	}
	// A newer one arrived after the read began: is there one in between?
	next, err := r.s.GetMsg(ctx, m.Sequence+1, jetstream.WithGetMsgSubject(m.Subject))
	switch {
	case errors.Is(err, jetstream.ErrMsgNotFound):
		return false, nil // something in between cannot be loaded
	case err != nil:
		return false, fmt.Errorf("read stream %s: next of %s: %w", r.stream, m.Subject, err)
	}
	return next.Sequence > end, nil
}

// lastMatching is the sequence of the last loadable message the read's
// filters match.
func (r *reader) lastMatching(ctx context.Context) (uint64, bool) {
	if len(r.cfg.FilterSubjects) > 1 {
		return 0, false
	}
	filter := ">"
	if len(r.cfg.FilterSubjects) == 1 {
		filter = r.cfg.FilterSubjects[0]
	}
	m, err := r.s.GetLastMsgForSubject(ctx, filter)
	if err != nil {
		return 0, false
	}
	return m.Sequence, true
}

// matches reports whether the read's filters select subject.
func (r *reader) matches(subject string) bool {
	if len(r.cfg.FilterSubjects) == 0 {
		return true
	}
	for _, f := range r.cfg.FilterSubjects {
		if subjectMatches(f, subject) {
			return true
		}
	}
	return false
}

// subjectMatches reports whether the NATS subject filter (with * and >)
// matches subject.
func subjectMatches(filter, subject string) bool {
	ft, st := strings.Split(filter, "."), strings.Split(subject, ".")
	for i, f := range ft {
		if f == ">" {
			return len(st) > i
		}
		if i >= len(st) || (f != "*" && f != st[i]) {
			return false
		}
	}
	return len(ft) == len(st)
}

// checkBudget bounds the gets one check spends on the sequences a read
// passed over, so a read of a sparse filter over a huge stream stays bounded.
const checkBudget = 10000

// check looks at the sequences the read passed over, when there is reason
// to think some could not be loaded: those neither deleted nor before the
// stream's first sequence, and still not loadable, are unreadable.
func (r *reader) check(ctx context.Context) error {
	if !r.suspect || r.gaps.empty() {
		r.gaps = gapList{}
		return nil
	}
	r.suspect = false
	gaps := r.gaps
	r.gaps = gapList{}
	if gaps.lost {
		r.skipped++ // some ranges were dropped unchecked
	}
	info, err := r.s.Info(ctx, jetstream.WithDeletedDetails(true))
	if err != nil {
		return fmt.Errorf("read stream %s: %w", r.stream, err)
	}
	deleted := make(map[uint64]bool, len(info.State.Deleted))
	for _, d := range info.State.Deleted {
		deleted[d] = true
	}
	budget := checkBudget
	var found []uint64
	for _, g := range gaps.ranges {
		for seq := max(g.from, info.State.FirstSeq); seq <= g.to && seq <= info.State.LastSeq; seq++ {
			if deleted[seq] {
				continue
			}
			if budget == 0 {
				r.skipped++
				continue
			}
			budget--
			_, err := r.s.GetMsg(ctx, seq)
			switch {
			case err == nil:
			case errors.Is(err, jetstream.ErrMsgNotFound):
				found = append(found, seq)
			default:
				return fmt.Errorf("read stream %s: check sequence %d: %w", r.stream, seq, err)
			}
		}
	}
	if len(found) == 0 {
		return nil
	}
	r.bad = append(r.bad, found...)
	slices.Sort(r.bad)
	r.bad = slices.Compact(r.bad)
	if r.o.OnUnreadable != nil {
		r.o.OnUnreadable(found)
	}
	return nil
}

// gapList collects the sequence ranges a read went past without a message,
// in order, bounded in size.
type gapList struct {
	ranges []seqRange
	lost   bool // ranges were dropped: too many
}

type seqRange struct{ from, to uint64 }

// maxGaps bounds a read's gap list; a read of a sparse filter has a gap
// after almost every message, and only reads with reason to check use it.
const maxGaps = 100000

func (g *gapList) add(from, to uint64) {
	if from > to {
		return
	}
	if n := len(g.ranges); n > 0 && g.ranges[n-1].to+1 >= from {
		g.ranges[n-1].to = max(g.ranges[n-1].to, to)
		return
	}
	if len(g.ranges) >= maxGaps {
		g.ranges = g.ranges[1:]
		g.lost = true
	}
	g.ranges = append(g.ranges, seqRange{from, to})
}

func (g *gapList) empty() bool { return len(g.ranges) == 0 }

// directMsg is a message read with a direct get; it cannot be acked.
type directMsg struct {
	raw    *jetstream.RawStreamMsg
	stream string
}

var _ jetstream.Msg = (*directMsg)(nil)

var errNotAckable = errors.New("jsread: a message read by sequence cannot be acknowledged")

func (m *directMsg) meta() *jetstream.MsgMetadata {
	return &jetstream.MsgMetadata{
		Sequence:  jetstream.SequencePair{Stream: m.raw.Sequence},
		Stream:    m.stream,
		Timestamp: m.raw.Time,
	}
}

func (m *directMsg) Metadata() (*jetstream.MsgMetadata, error) { return m.meta(), nil }
func (m *directMsg) Data() []byte                              { return m.raw.Data }
func (m *directMsg) Headers() nats.Header                      { return m.raw.Header }
func (m *directMsg) Subject() string                           { return m.raw.Subject }
func (m *directMsg) Reply() string                             { return "" }
func (m *directMsg) Ack() error                                { return errNotAckable }
func (m *directMsg) DoubleAck(context.Context) error           { return errNotAckable }
func (m *directMsg) Nak() error                                { return errNotAckable }
func (m *directMsg) NakWithDelay(time.Duration) error          { return errNotAckable }
func (m *directMsg) InProgress() error                         { return errNotAckable }
func (m *directMsg) Term() error                               { return errNotAckable }
func (m *directMsg) TermWithReason(string) error               { return errNotAckable }
