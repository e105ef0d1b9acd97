// Package seen remembers which federated records a hub has stored, for as
// long as it keeps the records, so that a record reaching it a second time
// over another path of the federation is stored once — also when the second
// copy comes later than the dataset's dedupe window, past which JetStream
// has forgotten the record's id (a triangle of hubs whose one link was down
// for a day delivers a day of records that already came the other way).
//
// The set is one JetStream stream with one subject per record: the subject
// names the dataset and a hash of the record's envelope id
// (origin:publisher:record id), holds at most one small marker (no payload;
// the record's sequence and a digest of its bytes in headers), and the
// marker expires with the record (a per-message TTL of the dataset's
// retention). Checking a record costs one direct get of the last message on
// its subject; marking it costs one small asynchronous publish, after the
// record itself was stored — so a marker always stands for a stored record,
// and a crash between the two can only leave a record without its marker,
// which JetStream's own dedupe catches when the record is delivered again
// within the window.
package seen

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Stream is the JetStream stream holding the markers.
const Stream = "HUB_FED_SEEN"

// subjectPrefix is under hub.internal, which no actor or peer may touch.
const subjectPrefix = "hub.internal.seen."

// Headers of a marker.
const (
	headerSeq = "Hub-Seen-Seq"
	headerSum = "Hub-Seen-Sum"
)

// Set is the set of federated records stored, by dataset and envelope id.
// It is safe for concurrent use.
type Set struct {
	js jetstream.JetStream
	st jetstream.Stream
}

// Open creates or updates the stream; replicas is its replication.
func Open(ctx context.Context, js jetstream.JetStream, replicas int) (*Set, error) {
	if replicas < 1 {
		replicas = 1
	}
	st, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:              Stream,
		Description:       "federated records stored, one marker per record for as long as its dataset keeps it",
		Subjects:          []string{subjectPrefix + ">"},
		Storage:           jetstream.FileStorage,
		Retention:         jetstream.LimitsPolicy,
		Discard:           jetstream.DiscardOld,
		MaxMsgsPerSubject: 1,
		AllowMsgTTL:       true,
		AllowDirect:       true,
		Replicas:          replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("open stream %s: %w", Stream, err)
	}
	return &Set{js: js, st: st}, nil
}

// Mark is what the set holds of a stored record.
type Mark struct {
	// Seq is the record's sequence in its dataset's stream.
	Seq uint64
	// Sum is the digest of the record's bytes (see Sum).
	Sum string
}

// Subject is the marker subject of the record with envelope id envID in
// dataset: the id can be 300 bytes of any printable ASCII, so it is hashed
// (SHA-256, 128 bits kept, base64url: a valid subject token).
func Subject(dataset, envID string) string {
	h := sha256.Sum256([]byte(envID))
	return subjectPrefix + dataset + "." + base64.RawURLEncoding.EncodeToString(h[:16])
}

// Sum is the digest of a record's bytes a marker keeps, so a second copy
// with other content under the same id is told apart (a conflict).
func Sum(data []byte) string {
	h := sha256.Sum256(data)
	return base64.RawURLEncoding.EncodeToString(h[:])
}

// Lookup returns the mark of the record with envelope id envID in dataset,
// and whether there is one.
func (s *Set) Lookup(ctx context.Context, dataset, envID string) (Mark, bool, error) {
	m, err := s.st.GetLastMsgForSubject(ctx, Subject(dataset, envID))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return Mark{}, false, nil
	}
	if err != nil {
		return Mark{}, false, fmt.Errorf("look up %s in %s: %w", envID, Stream, err)
	}
	seq, _ := strconv.ParseUint(m.Header.Get(headerSeq), 10, 64)
	return Mark{Seq: seq, Sum: m.Header.Get(headerSum)}, true, nil
}

// Msg is the marker of a stored record, to publish (asynchronously, after
// the record was stored) to the set's stream; ttl is how long the dataset
// keeps its records (0: forever).
func Msg(dataset, envID string, mk Mark, ttl time.Duration) *nats.Msg {
	m := &nats.Msg{Subject: Subject(dataset, envID), Header: nats.Header{
		headerSeq: {strconv.FormatUint(mk.Seq, 10)},
		headerSum: {mk.Sum},
	}}
	if ttl > 0 {
		m.Header.Set(jetstream.MsgTTLHeader, ttl.String())
	}
	return m
}

// Put marks a stored record and waits for the mark to be stored.
func (s *Set) Put(ctx context.Context, dataset, envID string, mk Mark, ttl time.Duration) error {
	if _, err := s.js.PublishMsg(ctx, Msg(dataset, envID, mk, ttl)); err != nil {
		return fmt.Errorf("mark %s in %s: %w", envID, Stream, err)
	}
	return nil
}

// maxScan bounds the records of one key FindStored reads.
const maxScan = 100_000

// FindStored looks through the records stored under subject in st for the
// one whose envelope id is envID, returning its sequence. It is the slow
// path for a record delivered again without a marker (stored, then the hub
// stopped before the mark was written): it reads the key's history, one
// direct get per record.
func FindStored(ctx context.Context, st jetstream.Stream, subject, envID string) (uint64, bool, error) {
	seq := uint64(1)
	for range maxScan {
		m, err := st.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(subject))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return 0, false, nil
		}
		if err != nil {
			return 0, false, fmt.Errorf("read %s at %d: %w", subject, seq, err)
		}
		if m.Header.Get(nats.MsgIdHdr) == envID {
			return m.Sequence, true, nil
		}
		seq = m.Sequence + 1
	}
	return 0, false, nil
}
