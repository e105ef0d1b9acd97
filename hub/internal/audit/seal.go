package audit

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// KindAuditSeal is the kind of a seal entry (see [Log.Seal]).
const KindAuditSeal = "audit.seal"

// maxSealed bounds the problems one seal lists; a log with more is sealed
// by several seals in a row.
const maxSealed = 1000

// Seal is what a seal entry says: the problems it acknowledges and why.
type Seal struct {
	// Reason is the admin's explanation.
	Reason string `json:"reason"`
	// VerifiedTo is the stream's last sequence when the log was verified
	// for the seal; the seal is the entry right after it.
	VerifiedTo uint64 `json:"verified_to"`
	// Problems are the problems acknowledged, with their evidence.
	Problems []Problem `json:"problems"`
	// More counts problems left for the next seal (beyond 1,000).
	More int `json:"more,omitempty"`
	// Anchor is the anchor the log no longer matched, acknowledged.
	Anchor *Anchor `json:"anchor,omitempty"`
	// Key is the anchor key that signed the seal.
	Key string `json:"key"`
}

// Seal acknowledges the log's present breaks so that the chain can be
// trusted again from here on, keeping the damaged entries as evidence. It
// verifies the log (against anchor when given), and appends an entry of
// kind [KindAuditSeal] by `by` that lists every problem found with its
// evidence, the anchor the log no longer matches, and reason, signed with
// the anchor key. From then on Verify reports those problems as sealed
// breaks, not failures; any other damage, before or after the seal,
// including further changes to the entries it acknowledged, still fails.
//
// It returns the seal entry and the report it acknowledges. It returns an
// error wrapping [ErrNoReason] without a reason, [ErrNothingToSeal] when the
// log verifies, and [ErrNoKey] when the Log has no anchor key.
func (l *Log) Seal(ctx context.Context, reason, by string, anchor *Anchor) (Entry, Report, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return Entry{}, Report{}, ErrNoReason
	}
	if l.opts.key == nil {
		return Entry{}, Report{}, fmt.Errorf("seal: %w", ErrNoKey)
	}
	var opts []VerifyOption
	if anchor != nil {
		opts = append(opts, Against(*anchor))
	}
	for attempt := 1; ; attempt++ {
		rep, err := l.Verify(ctx, opts...)
		if err != nil {
			return Entry{}, Report{}, err
		}
		last := rep.streamLast
		if rep.OK {
			return Entry{}, rep, ErrNothingToSeal
		}
		s := Seal{Reason: reason, VerifiedTo: last, Problems: rep.Problems, Key: l.publicKey()}
		if len(s.Problems) > maxSealed {
			s.Problems, s.More = s.Problems[:maxSealed], len(s.Problems)-maxSealed
		}
		if rep.Anchor != nil && rep.Anchor.Status == AnchorBroken {
			s.Anchor = &rep.Anchor.Anchor
		}
		detail, err := signDetail(l.opts.key, "seal", s)
		if err != nil {
			return Entry{}, Report{}, err
		}
		e, err := l.appendAfter(ctx, Entry{Kind: KindAuditSeal, Actor: by, Subject: fmt.Sprintf("seq %d", rep.FirstBad), Detail: detail}, last)
		if errors.Is(err, errMoved) && attempt < 5 {
			continue // entries came in since the verify: verify again
		}
		if err != nil {
			return Entry{}, Report{}, fmt.Errorf("seal: %w", err)
		}
		l.log.WarnContext(ctx, "audit log sealed", "seq", e.Seq, "by", by, "reason", reason, "problems", len(rep.Problems), "first_bad", rep.FirstBad)
		return e, rep, nil
	}
}

// openSeal checks a seal entry's signature and position and returns what
// it says.
func openSeal(e Entry, pub string) (Seal, error) {
	var s Seal
	if err := openDetail(e.Detail, "seal", pub, &s, func() string { return s.Key }); err != nil {
		return s, err
	}
	if e.Seq != s.VerifiedTo+1 {
		return s, fmt.Errorf("it was made after seq %d but stands at seq %d: moved", s.VerifiedTo, e.Seq)
	}
	return s, nil
}
