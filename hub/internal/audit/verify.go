package audit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"time"
)

// VerifyOption changes what [Log.Verify] compares the log with.
type VerifyOption func(*verifyOptions)

type verifyOptions struct {
	anchor *Anchor
	// visit, if set, sees every sequence read: the entry, or nil for a
	// message that is not one (Trim counts and cuts with it).
	visit func(seq uint64, e *Entry)
}

// Against compares the log with an anchor as well: the anchored entry must
// still be in the log with the anchored hash (or have been removed by
// retention under a signed checkpoint). An anchor whose entry is gone or
// different is reported as truncation, deletion or replacement.
func Against(a Anchor) VerifyOption {
	return func(o *verifyOptions) { o.anchor = &a }
}

// Verify walks the whole log as it stands when Verify starts and checks that
// every entry's hash matches its canonical bytes, that each entry's prev is
// the hash of the entry before it ("" for the first), and that the stream
// sequences run without a gap from 1, or from the first entry a signed
// checkpoint left after retention removed the entries before it. Entries
// appended while it runs are left for the next Verify. The error is for
// failing to read the log; what is wrong with the log itself is in the
// report, each problem naming its entry.
//
// Problems a seal acknowledged (see [Log.Seal]) are listed under Sealed and
// do not fail the report, unless the damage changed since the seal. With
// [Against], the log is also compared with an anchor. A damaged entry that
// JetStream cannot deliver is reported as unreadable; it never makes Verify
// wait for it.
func (l *Log) Verify(ctx context.Context, opts ...VerifyOption) (Report, error) {
	var o verifyOptions
	for _, opt := range opts {
		opt(&o)
	}
	s, err := l.js.Stream(ctx, StreamName)
	if err != nil {
		return Report{}, fmt.Errorf("audit stream %s: %w", StreamName, err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		return Report{}, fmt.Errorf("audit stream %s: %w", StreamName, err)
	}
	v := &verifier{
		pub:      l.publicKey(),
		last:     info.State.LastSeq,
		anchor:   o.anchor,
		visit:    o.visit,
		havePrev: true,
		seen:     make(map[string]uint64),
	}
	if v.last > 0 {
		if err := consume(ctx, l.js, 0, v.last, false, v.message, v.unreadable); err != nil {
			return Report{}, err
		}
	}
	v.finish()
	v.r.streamLast = v.last
	return v.r, nil
}

// verifier walks the log once, in stream order.
type verifier struct {
	pub    string // this hub's anchor key ("" when the Log has none)
	last   uint64 // the stream's last sequence when the walk started
	anchor *Anchor
	visit  func(uint64, *Entry)

	r        Report
	open     []Problem // problems no seal acknowledged (yet)
	prevSeq  uint64
	prevHash string
	havePrev bool   // whether prevHash is what the next entry must name
	prevEv   string // evidence of the message before
	seen     map[string]uint64

	started   bool
	first     Entry  // the first entry read, if it is the first message
	prefixTo  uint64 // sequences 1..prefixTo hold nothing: trimmed or removed
	anchorAt  *Entry // the entry at the anchored sequence, if read
	checks    []CheckpointRef
	seals     []sealSeen
	unreadAny bool
}

type sealSeen struct {
	seq    uint64
	detail Seal
	acks   map[string]bool
	idx    int // in r.Sealed
}

// evidence is the hex SHA-256 of stored bytes.
func evidence(b ...[]byte) string {
	h := sha256.New()
	for _, p := range b {
		h.Write(p)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func (v *verifier) add(p Problem) { v.open = append(v.open, p) }

// advance moves to seq, reporting a gap before it.
func (v *verifier) advance(seq uint64) {
	if !v.started {
		v.started = true
		v.r.FirstSeq = seq
		if seq > 1 {
			v.prefixTo, v.prevSeq, v.havePrev = seq-1, seq-1, false
		}
	}
	if seq != v.prevSeq+1 {
		v.add(missing(v.prevSeq+1, seq-1))
		v.havePrev = false // the entry after a gap names a removed one
	}
	v.prevSeq = seq
}

// unreadable is a message the stream counts but cannot deliver.
func (v *verifier) unreadable(seq uint64, err error) error {
	v.advance(seq)
	v.unreadAny = true
	v.add(Problem{Seq: seq, Code: ProblemUnreadable, Message: fmt.Sprintf(
		"entry %d cannot be read: the stream counts it but cannot deliver it (%v): its bytes were changed or damaged on disk", seq, err)})
	v.havePrev, v.prevEv = false, ""
	if v.visit != nil {
		v.visit(seq, nil)
	}
	return nil
}

func (v *verifier) message(data []byte, seq uint64) error {
	v.advance(seq)
	ev := evidence(data)
	e, err := decode(data, seq)
	if err != nil {
		v.add(Problem{Seq: seq, Code: ProblemGarbled, Evidence: ev, Message: fmt.Sprintf("entry %d is not an audit entry: %v: changed on disk or forged", seq, err)})
		v.havePrev, v.prevEv = false, ev
		if v.visit != nil {
			v.visit(seq, nil)
		}
		return nil
	}
	v.r.Entries++
	v.r.LastSeq, v.r.Head = seq, e.Hash
	if seq == v.r.FirstSeq {
		v.first = e
	}
	if v.anchor != nil && seq == v.anchor.Seq {
		v.anchorAt = &e
	}
	intact := true
	switch h, err := ComputeHash(e); {
	case err != nil:
		intact = false
		v.add(Problem{Seq: seq, Code: ProblemChanged, Evidence: ev, Message: fmt.Sprintf("%s: detail is not JSON: entry changed or forged", describe(e))})
	case h != e.Hash:
		intact = false
		v.add(Problem{Seq: seq, Code: ProblemChanged, Evidence: ev, Message: fmt.Sprintf("%s: hash mismatch (stored %s, computed %s): entry changed", describe(e), short(e.Hash), short(h))})
	}
	if v.havePrev && e.Prev != v.prevHash {
		p := Problem{Seq: seq, Code: ProblemLink, Evidence: evidence([]byte(v.prevEv), data)}
		switch k, ok := v.seen[e.Prev]; {
		case seq == 1:
			p.Message = fmt.Sprintf("%s is the first entry but names a previous one: entries before it removed, or entry forged", describe(e))
		case ok:
			p.Message = fmt.Sprintf("%s names entry %d as previous instead of entry %d: entries reordered", describe(e), k, seq-1)
		default:
			p.Message = fmt.Sprintf("%s: its prev does not match the hash of entry %d: entry %d changed (its hash recomputed), or entry %d reordered or forged", describe(e), seq-1, seq-1, seq)
		}
		v.add(p)
	}
	if intact {
		switch e.Kind {
		case KindAuditSeal:
			v.seal(e, ev)
		case KindAuditCheckpoint:
			v.checkpoint(e, ev)
		}
	}
	if v.visit != nil {
		v.visit(seq, &e)
	}
	v.seen[e.Hash] = seq
	v.prevHash, v.havePrev, v.prevEv = e.Hash, true, ev
	return nil
}

// missing is the problem of a gap from..to in the stream sequences.
func missing(from, to uint64) Problem {
	const why = "removed (deleted, or dropped by JetStream as damaged on disk)"
	if from == to {
		return Problem{Seq: from, Code: ProblemMissing, Message: fmt.Sprintf("entry %d is missing: %s", from, why)}
	}
	return Problem{Seq: from, To: to, Code: ProblemMissing, Message: fmt.Sprintf("entries %d to %d are missing: %s", from, to, why)}
}

// describe names an entry for a message.
func describe(e Entry) string {
	return fmt.Sprintf("entry %d (%s by %s on %s, %s)", e.Seq, e.Kind, e.Actor, e.Subject, e.Time.UTC().Format(time.RFC3339))
}

// seal honours a seal entry: the open problems before it that it lists
// become sealed breaks.
func (v *verifier) seal(e Entry, ev string) {
	d, err := openSeal(e, v.pub)
	if err != nil {
		v.add(Problem{Seq: e.Seq, Code: ProblemSeal, Evidence: ev, Message: fmt.Sprintf("%s is not a valid seal: %v", describe(e), err)})
		return
	}
	s := sealSeen{seq: e.Seq, detail: d, acks: make(map[string]bool, len(d.Problems)), idx: len(v.r.Sealed)}
	for _, p := range d.Problems {
		s.acks[p.key()] = true
	}
	v.r.Sealed = append(v.r.Sealed, SealedBreak{Seal: e.Seq, Time: e.Time, By: e.Actor, Reason: d.Reason, Acknowledged: d.Problems, Anchor: d.Anchor})
	v.seals = append(v.seals, s)
	v.open = slices.DeleteFunc(v.open, func(p Problem) bool { return v.acknowledge(&s, p) })
}

// acknowledge moves p into s's sealed break when s lists it.
func (v *verifier) acknowledge(s *sealSeen, p Problem) bool {
	if p.Seq >= s.seq || !s.acks[p.key()] {
		return false
	}
	v.r.Sealed[s.idx].Problems = append(v.r.Sealed[s.idx].Problems, p)
	return true
}

// checkpoint notes a valid checkpoint entry; a bad one is a problem.
func (v *verifier) checkpoint(e Entry, ev string) {
	c, err := openCheckpoint(e, v.pub)
	if err != nil {
		v.add(Problem{Seq: e.Seq, Code: ProblemCheckpoint, Evidence: ev, Message: fmt.Sprintf("%s is not a valid checkpoint: %v", describe(e), err)})
		return
	}
	v.checks = append(v.checks, CheckpointRef{Seq: e.Seq, Checkpoint: c})
}

// finish judges what only the whole walk shows: a missing tail, a prefix
// without a checkpoint, and the anchor.
func (v *verifier) finish() {
	if !v.started && v.last > 0 {
		v.prefixTo = v.last // nothing left at all
	} else if v.prevSeq < v.last {
		v.add(missing(v.prevSeq+1, v.last))
	}
	v.finishPrefix()
	v.finishAnchor()
	// Problems found only now concern entries before any seal: a seal that
	// lists them acknowledges them.
	v.open = slices.DeleteFunc(v.open, func(p Problem) bool {
		for i := range v.seals {
			if v.acknowledge(&v.seals[i], p) {
				return true
			}
		}
		return false
	})
	slices.SortStableFunc(v.open, func(a, b Problem) int { return int(a.Seq) - int(b.Seq) })
	v.r.Problems = v.open
	v.r.OK = len(v.open) == 0
	if !v.r.OK {
		v.r.FirstBad = v.open[0].Seq
	}
}

// finishPrefix accounts for sequences 1..prefixTo that hold nothing.
func (v *verifier) finishPrefix() {
	if v.prefixTo == 0 {
		return
	}
	var best *CheckpointRef
	for i := range v.checks {
		c := &v.checks[i]
		if c.TrimmedTo <= v.prefixTo && (best == nil || c.TrimmedTo > best.TrimmedTo) {
			best = c
		}
	}
	missingFrom := uint64(1)
	if best != nil {
		v.r.Checkpoint = best
		missingFrom = best.TrimmedTo + 1
		if best.TrimmedTo == v.prefixTo && v.first.Seq == best.FirstKept && v.first.Hash != best.FirstKeptHash {
			v.add(Problem{Seq: v.first.Seq, Code: ProblemReplaced, Evidence: v.first.Hash, Message: fmt.Sprintf(
				"%s is not the entry the checkpoint at seq %d kept first (hash %s): replaced", describe(v.first), best.Seq, short(best.FirstKeptHash))})
		}
	}
	if missingFrom > v.prefixTo {
		return
	}
	p := Problem{Seq: missingFrom, Code: ProblemMissing}
	if missingFrom < v.prefixTo {
		p.To = v.prefixTo
	}
	span := fmt.Sprintf("entries %d to %d are", missingFrom, v.prefixTo)
	if p.To == 0 {
		span = fmt.Sprintf("entry %d is", missingFrom)
	}
	if best != nil {
		p.Message = fmt.Sprintf("%s missing: removed before the first entry left; the checkpoint at seq %d accounts only for %d to %d", span, best.Seq, best.TrimmedFrom, best.TrimmedTo)
	} else {
		p.Message = fmt.Sprintf("%s missing and no signed checkpoint accounts for them: removed", span)
	}
	v.add(p)
}

// finishAnchor compares the log with the anchor, if one was given.
func (v *verifier) finishAnchor() {
	a := v.anchor
	if a == nil {
		return
	}
	check := &AnchorCheck{Anchor: *a, Status: AnchorMatches}
	v.r.Anchor = check
	if err := a.Check(v.pub); err != nil {
		check.Status = AnchorBroken
		v.add(Problem{Seq: a.Seq, Code: ProblemAnchor, Evidence: a.Head, Message: fmt.Sprintf("the anchor for %s is not valid: %v", a, err)})
		return
	}
	if a.Seq == 0 {
		return
	}
	var p *Problem
	restarted := v.first.Seq == 1 && v.first.Time.After(a.Time)
	switch {
	case v.anchorAt != nil && v.anchorAt.Hash == a.Head:
		return
	case v.anchorAt != nil && restarted:
		p = &Problem{Code: ProblemDeleted, Message: fmt.Sprintf("the log was deleted and started again: its first entry was written %s, after the anchor of %s; the anchored entries 1 to %d are gone and entry %d is another one",
			v.first.Time.UTC().Format(time.RFC3339), a, a.Seq, a.Seq)}
	case v.anchorAt != nil && v.anchorAt.Time.After(a.Time):
		p = &Problem{Code: ProblemTruncated, Message: fmt.Sprintf("the log was cut back before the anchored entry %d and written again: %s was written after the anchor of %s",
			a.Seq, describe(*v.anchorAt), a)}
	case v.anchorAt != nil:
		p = &Problem{Code: ProblemReplaced, Message: fmt.Sprintf("%s is not the anchored entry (stored hash %s, anchored %s): the log was rewritten from there on",
			describe(*v.anchorAt), short(v.anchorAt.Hash), a)}
	case a.Seq < v.r.FirstSeq && v.r.Checkpoint != nil && a.Seq <= v.r.Checkpoint.TrimmedTo:
		check.Status = AnchorTrimmed
		return
	case a.Seq > v.last && v.r.Entries == 0 && !v.unreadAny:
		p = &Problem{Code: ProblemDeleted, Message: fmt.Sprintf("the audit log is empty, but it held entries up to the anchor of %s: the audit stream was deleted", a)}
	case a.Seq > v.last && restarted:
		p = &Problem{Code: ProblemDeleted, Message: fmt.Sprintf("the log was deleted and started again: it ends at seq %d and its first entry was written %s, after the anchor of %s; the anchored entries 1 to %d are gone",
			v.last, v.first.Time.UTC().Format(time.RFC3339), a, a.Seq)}
	case a.Seq > v.last:
		span := fmt.Sprintf("entries %d to %d were", v.last+1, a.Seq)
		if v.last+1 == a.Seq {
			span = fmt.Sprintf("entry %d was", a.Seq)
		}
		p = &Problem{Code: ProblemTruncated, Message: fmt.Sprintf("the log ends at seq %d but was anchored at %s: %s cut off (truncated)", v.last, a, span)}
	default:
		// The anchored entry is in range but was not read: it is already
		// reported as missing or unreadable.
		check.Status = AnchorBroken
		if v.anchorSealed(a) {
			check.Status = AnchorSealed
		}
		return
	}
	p.Seq, p.Evidence = a.Seq, a.Head
	check.Status = AnchorBroken
	if v.anchorSealed(a) {
		check.Status = AnchorSealed
		return
	}
	v.add(*p)
}

// anchorSealed reports whether a seal acknowledges that the log no longer
// matches anchor a.
func (v *verifier) anchorSealed(a *Anchor) bool {
	for _, s := range v.seals {
		if sa := s.detail.Anchor; sa != nil && sa.Seq == a.Seq && sa.Head == a.Head {
			return true
		}
	}
	return false
}
