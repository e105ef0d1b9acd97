package audit

import (
	"fmt"
	"time"
)

// Codes of [Problem]: what kind of damage was found. They cross the wire
// (the API's verify answer), so a client matches the code, never the text.
const (
	// ProblemChanged: the entry's hash does not match its content.
	ProblemChanged = "changed"
	// ProblemGarbled: the stored message is not an audit entry at all.
	ProblemGarbled = "garbled"
	// ProblemUnreadable: the stream counts the entry but cannot deliver it
	// (its bytes changed on disk, so JetStream's checksum fails).
	ProblemUnreadable = "unreadable"
	// ProblemMissing: stream sequences Seq..To hold no entry: removed.
	ProblemMissing = "missing"
	// ProblemLink: the entry's prev does not name the entry before it: that
	// one changed with its hash recomputed, or this one was reordered or
	// forged.
	ProblemLink = "link"
	// ProblemTruncated: the log ends before the head of the anchor compared.
	ProblemTruncated = "truncated"
	// ProblemReplaced: the entry at the anchored sequence is not the
	// anchored one: the log was rewritten or deleted and started again.
	ProblemReplaced = "replaced"
	// ProblemDeleted: the log is empty although entries were anchored.
	ProblemDeleted = "deleted"
	// ProblemAnchor: the anchor compared is not signed by this hub's key.
	ProblemAnchor = "anchor"
	// ProblemCheckpoint: a checkpoint entry's signature or content is wrong.
	ProblemCheckpoint = "checkpoint"
	// ProblemSeal: a seal entry's signature or content is wrong (forged).
	ProblemSeal = "seal"
)

// Report is the outcome of [Log.Verify].
type Report struct {
	// Entries is the number of entries read.
	Entries int `json:"entries"`
	// OK is true when no problem is left that a seal does not acknowledge.
	OK bool `json:"ok"`
	// FirstSeq is the first stream sequence the log holds (above 1 after
	// retention trimmed a prefix, see Checkpoint).
	FirstSeq uint64 `json:"first_seq,omitempty"`
	// LastSeq is the last stream sequence verified.
	LastSeq uint64 `json:"last_seq"`
	// Head is the hash of the last entry verified. Written down elsewhere
	// (see [Anchor]), it lets a later Verify prove that the stream was not
	// deleted, cut or rebuilt: the chain must still pass through it.
	Head string `json:"head"`
	// FirstBad is the sequence of the first problem left, 0 when none.
	FirstBad uint64 `json:"first_bad,omitempty"`
	// Problems lists what is wrong and not acknowledged, in stream order.
	Problems []Problem `json:"problems,omitempty"`
	// Sealed lists the breaks that seals acknowledged, still in the log.
	Sealed []SealedBreak `json:"sealed,omitempty"`
	// Checkpoint is the signed checkpoint that accounts for a trimmed
	// prefix, if the log has one.
	Checkpoint *CheckpointRef `json:"checkpoint,omitempty"`
	// Anchor is the comparison with the anchor given, if one was.
	Anchor *AnchorCheck `json:"anchor,omitempty"`

	streamLast uint64 // the stream's last sequence when the walk started
}

// Problem is one thing wrong with the log.
type Problem struct {
	// Seq is the stream sequence of the entry concerned: the changed,
	// unreadable, relinked or forged entry, or the first one missing.
	Seq uint64 `json:"seq"`
	// To is the last sequence of a range (missing entries), else 0.
	To uint64 `json:"to,omitempty"`
	// Code says what kind of problem it is (Problem... constants).
	Code    string `json:"code"`
	Message string `json:"message"`
	// Evidence is the SHA-256 of the stored bytes concerned (for an anchor
	// problem: the anchored head). A seal acknowledges a problem only with
	// the same code, sequences and evidence, so the damage cannot be
	// changed further under the seal's cover.
	Evidence string `json:"evidence,omitempty"`
}

// key identifies a problem for acknowledgement by a seal. An unreadable
// entry counts as a missing one: JetStream drops a message whose checksum
// fails when it next rebuilds the stream's index, so the same damage shows
// as either.
func (p Problem) key() string {
	code := p.Code
	if code == ProblemUnreadable {
		code = ProblemMissing
	}
	return fmt.Sprintf("%s|%d|%d|%s", code, p.Seq, p.To, p.Evidence)
}

// SealedBreak is a break in the log that an admin acknowledged with
// [Log.Seal]: kept as evidence, no longer failing verification.
type SealedBreak struct {
	// Seal is the sequence of the seal entry.
	Seal   uint64    `json:"seal"`
	Time   time.Time `json:"time"`
	By     string    `json:"by"`
	Reason string    `json:"reason"`
	// Acknowledged is what the seal acknowledged when it was made, and
	// Anchor the anchor it acknowledged the log no longer matched.
	Acknowledged []Problem `json:"acknowledged"`
	Anchor       *Anchor   `json:"anchor,omitempty"`
	// Problems are those of them found again by this verify (unchanged:
	// a changed one is a problem, not sealed).
	Problems []Problem `json:"problems,omitempty"`
}

// CheckpointRef names the checkpoint entry that accounts for the prefix
// retention removed.
type CheckpointRef struct {
	Seq uint64 `json:"seq"`
	Checkpoint
}

// AnchorCheck is the outcome of comparing the log with an anchor.
type AnchorCheck struct {
	Anchor Anchor `json:"anchor"`
	// Status is AnchorMatches, AnchorTrimmed, AnchorSealed or AnchorBroken.
	Status string `json:"status"`
}

// Statuses of [AnchorCheck].
const (
	// AnchorMatches: the anchored entry is in the log with the anchored hash.
	AnchorMatches = "matches"
	// AnchorTrimmed: retention removed the anchored entry; a signed
	// checkpoint accounts for it.
	AnchorTrimmed = "trimmed"
	// AnchorSealed: the log no longer matches, and a seal acknowledges it.
	AnchorSealed = "sealed"
	// AnchorBroken: the log does not match (see the problems).
	AnchorBroken = "broken"
)
