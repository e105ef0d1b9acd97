package integrity

import (
	"fmt"
	"strings"
	"time"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
)

// Kinds of findings.
const (
	// KindStreamGone: the stream is gone (its folder deleted); every
	// recorded message is lost.
	KindStreamGone = "stream-gone"
	// KindTailLost: the stream's last sequence went back.
	KindTailLost = "tail-lost"
	// KindHeadLost: the first messages are gone though no limit removes them.
	KindHeadLost = "head-lost"
	// KindGap: messages in the middle are gone though no limit removes them.
	KindGap = "gap"
	// KindKeysLost: fewer subjects (keys) than recorded in a stream whose
	// limits always keep each subject's newest message.
	KindKeysLost = "keys-lost"
	// KindUnreadable: messages counted by the stream that the server
	// cannot load (damaged on disk); found by a read.
	KindUnreadable = "unreadable"
)

// Finding is one loss the hub found and nobody acknowledged yet.
type Finding struct {
	// ID identifies the finding (stream, kind and range).
	ID string `json:"id"`
	// Stream is the JetStream stream; Dataset or Bucket names what it holds
	// when it is a dataset's stream or a KV bucket.
	Stream  string `json:"stream"`
	Dataset string `json:"dataset,omitempty"`
	Bucket  string `json:"bucket,omitempty"`
	Kind    string `json:"kind"`
	// From and To are the stream sequences lost (inclusive); for
	// KindKeysLost the range they were in.
	From uint64 `json:"from"`
	To   uint64 `json:"to"`
	// Count is how many messages (or keys, for KindKeysLost) were lost,
	// when known.
	Count uint64 `json:"count,omitempty"`
	// Detail says what happened, for people.
	Detail string    `json:"detail"`
	Found  time.Time `json:"found"`
	// Audited is set once the finding's audit entry is stored.
	Audited bool `json:"audited,omitempty"`
}

// Name is what an admin acknowledges the finding by: the dataset, the
// bucket, or the stream.
func (f Finding) Name() string {
	switch {
	case f.Dataset != "":
		return f.Dataset
	case f.Bucket != "":
		return f.Bucket
	}
	return f.Stream
}

// What names the stream's content for a sentence: "dataset jobads",
// "bucket hub_actors", "stream AUDIT".
func (f Finding) What() string {
	switch {
	case f.Dataset != "":
		return "dataset " + f.Dataset
	case f.Bucket != "":
		return "bucket " + f.Bucket
	}
	return "stream " + f.Stream
}

// Range is the sequence range as text: "7" or "1-203".
func (f Finding) Range() string {
	if f.From == f.To {
		return fmt.Sprint(f.From)
	}
	return fmt.Sprintf("%d-%d", f.From, f.To)
}

// String is one line for logs, errors and the CLI.
func (f Finding) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: ", f.What())
	switch f.Kind {
	case KindKeysLost:
		fmt.Fprintf(&b, "%d key(s) lost from sequences %s", f.Count, f.Range())
	case KindUnreadable:
		fmt.Fprintf(&b, "sequence %s unreadable", f.Range())
	default:
		fmt.Fprintf(&b, "sequences %s lost", f.Range())
		if f.Count > 0 {
			fmt.Fprintf(&b, " (%d messages)", f.Count)
		}
	}
	if f.Detail != "" {
		b.WriteString(": ")
		b.WriteString(f.Detail)
	}
	return b.String()
}

// newFinding names a stream's content and sets the ID.
func newFinding(stream, kind string, from, to, count uint64, detail string, now time.Time) Finding {
	f := Finding{Stream: stream, Kind: kind, From: from, To: to, Count: count, Detail: detail, Found: now.UTC()}
	switch {
	case strings.HasPrefix(stream, wire.StreamName("")):
		f.Dataset = strings.TrimPrefix(stream, wire.StreamName(""))
	case strings.HasPrefix(stream, "KV_"):
		f.Bucket = strings.TrimPrefix(stream, "KV_")
	}
	f.ID = fmt.Sprintf("%s/%s/%d-%d", stream, kind, from, to)
	return f
}

// compare returns the loss that going from the recorded state r to the
// current state c (nil: the stream is gone) shows. deleted lists the
// interior sequences the stream reports deleted; it is called only when the
// counts show messages missing in the middle.
func compare(stream string, r StreamState, c *StreamState, now time.Time, deleted func() ([]uint64, error)) []Finding {
	if r.Msgs == 0 {
		return nil // nothing recorded, nothing to lose
	}
	if c == nil {
		return []Finding{newFinding(stream, KindStreamGone, r.FirstSeq, r.LastSeq, r.Msgs,
			"the stream is gone (its files were removed); every recorded message is lost", now)}
	}
	var out []Finding
	tailFrom := r.LastSeq + 1 // first sequence of a lost tail
	if c.LastSeq < r.LastSeq {
		tailFrom = max(c.LastSeq+1, r.FirstSeq)
		detail := fmt.Sprintf("the stream's last sequence went back from %d to %d", r.LastSeq, c.LastSeq)
		if c.LastSeq == 0 {
			detail = "the stream was recreated empty (its files were removed)"
		}
		var count uint64
		if r.keepsAll() {
			count = r.LastSeq - tailFrom + 1
		}
		out = append(out, newFinding(stream, KindTailLost, tailFrom, r.LastSeq, count, detail, now))
	}
	switch {
	case r.keepsAll() && c.keepsAll():
		headTo := uint64(0) // last sequence of a lost head
		if c.FirstSeq > r.FirstSeq && tailFrom > r.FirstSeq {
			headTo = min(c.FirstSeq-1, tailFrom-1)
			out = append(out, newFinding(stream, KindHeadLost, r.FirstSeq, headTo, headTo-r.FirstSeq+1,
				fmt.Sprintf("the stream's first sequence moved from %d to %d though no limit removes messages", r.FirstSeq, c.FirstSeq), now))
		}
		// Messages expected now: the recorded ones outside the head and
		// tail already reported, plus every one stored since.
		lo, hi := max(r.FirstSeq, headTo+1), min(r.LastSeq, tailFrom-1)
		if lo > hi {
			break
		}
		var reported uint64
		if headTo > 0 {
			reported += headTo - r.FirstSeq + 1
		}
		if tailFrom <= r.LastSeq {
			reported += r.LastSeq - tailFrom + 1
		}
		expect := r.Msgs - min(r.Msgs, reported)
		if c.LastSeq > r.LastSeq {
			expect += c.LastSeq - r.LastSeq
		}
		if c.Msgs >= expect {
			break
		}
		missing := expect - c.Msgs
		seqs, err := deleted()
		var in []uint64
		for _, s := range seqs {
			if s >= lo && s <= hi {
				in = append(in, s)
			}
		}
		if err != nil || len(in) == 0 {
			out = append(out, newFinding(stream, KindGap, lo, hi, missing,
				fmt.Sprintf("%d message(s) missing between sequences %d and %d", missing, lo, hi), now))
			break
		}
		for _, g := range ranges(in, 20) {
			kind, detail := KindGap, "messages in the middle of the stream are gone though no limit removes them"
			if g[1] == c.LastSeq {
				kind, detail = KindTailLost, "the stream's last messages are gone (it kept their sequence numbers)"
			}
			out = append(out, newFinding(stream, kind, g[0], g[1], g[1]-g[0]+1, detail, now))
		}
	case c.MaxAge == 0 && !c.Sized && c.PerSubject:
		// Each subject's newest message always stays.
		if c.Subjects < r.Subjects {
			to := r.LastSeq
			if tailFrom <= r.LastSeq {
				to = tailFrom - 1
			}
			if to >= r.FirstSeq {
				out = append(out, newFinding(stream, KindKeysLost, r.FirstSeq, to, r.Subjects-c.Subjects,
					fmt.Sprintf("the stream holds %d keys, %d were recorded, and its limits keep each key's newest message", c.Subjects, r.Subjects), now))
			}
		}
	case c.MaxAge > 0 && !c.Sized:
		// The newest recorded message was young enough to still be here.
		if c.FirstSeq > r.LastSeq && tailFrom > r.LastSeq && !r.LastTime.IsZero() && now.Sub(r.LastTime) < c.MaxAge {
			out = append(out, newFinding(stream, KindHeadLost, r.FirstSeq, r.LastSeq, 0,
				fmt.Sprintf("messages up to sequence %d are gone, and the newest of them (stored %s) is younger than the stream's max age %s",
					r.LastSeq, r.LastTime.UTC().Format(time.RFC3339), c.MaxAge), now))
		}
	}
	return out
}

// ranges groups ascending sequences into [from, to] ranges, at most limit
// (the last one then reaches to the last sequence).
func ranges(seqs []uint64, limit int) [][2]uint64 {
	var out [][2]uint64
	for i := 0; i < len(seqs); {
		j := i
		for j+1 < len(seqs) && seqs[j+1] == seqs[j]+1 {
			j++
		}
		out = append(out, [2]uint64{seqs[i], seqs[j]})
		i = j + 1
	}
	if limit > 0 && len(out) > limit {
		out[limit-1][1] = out[len(out)-1][1]
		out = out[:limit]
	}
	return out
}
