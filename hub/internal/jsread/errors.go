package jsread

import (
	"errors"
	"fmt"
	"strings"
)

// ErrUnreadable is wrapped by the [*UnreadableError] that [Read] returns
// when it passed over stored messages the server could not load.
var ErrUnreadable = errors.New("stored messages unreadable")

// UnreadableError names the stored messages a read passed over because the
// server could not load them (damaged on disk). Every readable message was
// read.
type UnreadableError struct {
	// Stream is the stream read.
	Stream string
	// Seqs are the unreadable messages' stream sequences, ascending.
	Seqs []uint64
	// Unchecked counts sequences the read went past but had no budget to
	// check (a very sparse read of a damaged stream); they may hold more.
	Unchecked int
}

// Error names the stream and the sequences.
func (e *UnreadableError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "stream %s: %d stored message(s) unreadable (damaged on disk), passed over", e.Stream, len(e.Seqs))
	if len(e.Seqs) > 0 {
		b.WriteString(": sequence ")
		b.WriteString(FormatSeqs(e.Seqs, 20))
	}
	if e.Unchecked > 0 {
		fmt.Fprintf(&b, " (%d more sequences passed over were not checked)", e.Unchecked)
	}
	return b.String()
}

// Unwrap makes errors.Is(err, ErrUnreadable) hold.
func (e *UnreadableError) Unwrap() error { return ErrUnreadable }

// FormatSeqs writes ascending sequences as ranges ("7, 101-103"), at most
// limit ranges, then how many more.
func FormatSeqs(seqs []uint64, limit int) string {
	var parts []string
	for i := 0; i < len(seqs); {
		j := i
		for j+1 < len(seqs) && seqs[j+1] == seqs[j]+1 {
			j++
		}
		if j == i {
			parts = append(parts, fmt.Sprint(seqs[i]))
		} else {
			parts = append(parts, fmt.Sprintf("%d-%d", seqs[i], seqs[j]))
		}
		i = j + 1
	}
	if limit > 0 && len(parts) > limit {
		more := len(parts) - limit
		parts = append(parts[:limit], fmt.Sprintf("and %d more ranges", more))
	}
	return strings.Join(parts, ", ")
}
