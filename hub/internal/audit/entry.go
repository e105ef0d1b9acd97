package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Kinds of entries the hub appends. Kind is a free string; these are the ones
// the hub itself uses.
const (
	KindActorCreate  = "actor.create"
	KindActorRevoke  = "actor.revoke"
	KindPolicyApply  = "policy.apply"
	KindDatasetApply = "dataset.apply"
	KindAccessDenied = "access.denied"
	KindGrantExpired = "grant.expired"
)

// ActorAdmin is the actor of entries made by an admin through the admin API
// or CLI.
const ActorAdmin = "admin"

// Kinds of entries about where the policies in force came from, and about
// subscriptions whose actor lost the right to them.
const (
	// KindPolicyOverride: at start, the policies folder replaced a set last
	// applied another way (the API or CLI); the entry holds the difference.
	KindPolicyOverride = "policy.override"
	// A subscription whose actor lost the right is suspended (paused, its
	// position kept for the grace period), resumed when the right comes
	// back within it, and expired (removed) when the grace period ends.
	KindSubscriptionSuspended = "subscription.suspended"
	KindSubscriptionResumed   = "subscription.resumed"
	KindSubscriptionExpired   = "subscription.expired"
)

// Kinds of entries about the dataset registry besides [KindDatasetApply]:
// a start whose schemas folder replaced datasets applied another way, a
// schema version registered on its own (the admin API or an actor's kit),
// and a retired dataset deleted with its records.
const (
	KindDatasetOverride = "dataset.override"
	KindSchemaRegister  = "schema.register"
	KindDatasetDelete   = "dataset.delete"
)

// Kinds of entries about the hub's own data and its keeping: data found lost
// or unreadable (at start, or by a read), an admin's acknowledgement of it,
// a start with no record to compare the streams with, an online backup, and
// the rotation of the admin token.
const (
	KindDamageFound        = "damage.found"
	KindDamageAcknowledged = "damage.acknowledged"
	KindDamageUnverified   = "damage.unverified"
	KindBackup             = "backup.create"
	KindTokenRotate        = "token.rotate"
)

// Kinds of entries about federation. On the giving hub: a peer hub's
// identity ("hub:<name>") created or revoked, and an anchor a peer handed
// over whose key differs from the one it used before. On the taking hub: a
// link to a peer added (or replaced) or removed.
const (
	KindPeerCreate        = "peer.create"
	KindPeerRevoke        = "peer.revoke"
	KindPeerLinkAdd       = "peer.link.add"
	KindPeerLinkRemove    = "peer.link.remove"
	KindPeerAnchorKeySwap = "peer.anchor.key_changed"
)

// Entry is one audit record.
type Entry struct {
	// Seq is the entry's stream sequence, filled when an entry is read or
	// appended; it is not stored in the message nor hashed.
	Seq uint64 `json:"seq,omitempty"`
	// Time is when the entry was appended, in UTC; [Log.Append] sets it.
	Time time.Time `json:"time"`
	// Kind says what happened, e.g. [KindPolicyApply].
	Kind string `json:"kind"`
	// Actor is who did it: [ActorAdmin] or an actor name.
	Actor string `json:"actor"`
	// Subject is what it concerns, e.g. an actor name or a policy id.
	Subject string `json:"subject"`
	// Detail is any JSON value (usually an object or a string); empty means
	// none and is stored as null.
	Detail json.RawMessage `json:"detail"`
	// Prev is the hash of the previous entry, "" for the first one.
	Prev string `json:"prev"`
	// Hash is the hex SHA-256 of the entry's canonical bytes (see the
	// package documentation).
	Hash string `json:"hash"`

	// once, if set, stores the entry only once among every writer that
	// appends one with the same key (see [Writer.SubmitOnce]); not stored.
	once string
}

// canonicalEntry fixes the canonical field order; do not reorder.
type canonicalEntry struct {
	Time    string          `json:"time"`
	Kind    string          `json:"kind"`
	Actor   string          `json:"actor"`
	Subject string          `json:"subject"`
	Detail  json.RawMessage `json:"detail"`
	Prev    string          `json:"prev"`
}

// Canonical returns e's canonical bytes: what its hash is computed over. It
// fails only when e.Detail is not valid JSON.
func Canonical(e Entry) ([]byte, error) {
	c := canonicalEntry{
		Time:    e.Time.UTC().Format(time.RFC3339Nano),
		Kind:    e.Kind,
		Actor:   e.Actor,
		Subject: e.Subject,
		Prev:    e.Prev,
	}
	if len(bytes.TrimSpace(e.Detail)) == 0 {
		c.Detail = json.RawMessage("null")
	} else {
		var buf bytes.Buffer
		if err := json.Compact(&buf, e.Detail); err != nil {
			return nil, fmt.Errorf("detail: %w", err)
		}
		c.Detail = buf.Bytes()
	}
	return json.Marshal(c)
}

// ComputeHash returns the hex SHA-256 of e's canonical bytes. It fails only
// when e.Detail is not valid JSON.
func ComputeHash(e Entry) (string, error) {
	b, err := Canonical(e)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// normalize makes e round-trip through its stored JSON unchanged, so that the
// hash computed at append is the hash recomputed at verify: UTC time without
// a monotonic reading, valid UTF-8 strings and compacted detail.
func normalize(e Entry) (Entry, error) {
	if e.Kind == "" {
		return e, fmt.Errorf("%w: no kind", ErrInvalidEntry)
	}
	fix := func(s string) string {
		if utf8.ValidString(s) {
			return s
		}
		return strings.ToValidUTF8(s, "\uFFFD")
	}
	e.Kind, e.Actor, e.Subject = fix(e.Kind), fix(e.Actor), fix(e.Subject)
	if len(bytes.TrimSpace(e.Detail)) == 0 {
		e.Detail = nil
	} else {
		if !json.Valid(e.Detail) {
			return e, fmt.Errorf("%w: detail of %s entry is not valid JSON", ErrInvalidEntry, e.Kind)
		}
		var buf bytes.Buffer
		_ = json.Compact(&buf, e.Detail) // valid, checked above
		e.Detail = buf.Bytes()
	}
	return e, nil
}

// encode is the stored message: the entry's JSON without seq.
func encode(e Entry) ([]byte, error) {
	e.Seq = 0
	return json.Marshal(e)
}

// decode reads a stored message as the entry at seq.
func decode(data []byte, seq uint64) (Entry, error) {
	var e Entry
	if err := json.Unmarshal(data, &e); err != nil {
		return Entry{}, fmt.Errorf("%w: seq %d: %v", ErrBadEntry, seq, err)
	}
	e.Seq = seq
	return e, nil
}
