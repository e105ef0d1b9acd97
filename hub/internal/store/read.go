package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/hub/internal/jsread"
)

// Position says where a read starts. The zero value reads from the first
// record still stored.
type Position struct {
	// AfterSeq starts after this stream sequence.
	AfterSeq uint64
	// Since starts at the first record published at or after this time.
	Since time.Time
	// Snapshot reads the latest record of every key, leaving out keys whose
	// latest record is a tombstone.
	Snapshot bool
}

// Validate reports a position that mixes ways to start.
func (p Position) Validate() error {
	n := 0
	if p.AfterSeq > 0 {
		n++
	}
	if !p.Since.IsZero() {
		n++
	}
	if p.Snapshot {
		n++
	}
	if n > 1 {
		return errors.New("choose one of after, since and snapshot")
	}
	return nil
}

// ReadOptions tunes a read.
type ReadOptions struct {
	// Follow keeps reading live records after the stored ones until ctx ends.
	Follow bool
	// Tombstones keeps, in a snapshot, the keys whose latest record is a
	// tombstone (a snapshot leaves them out by default).
	Tombstones bool
	// OnUnreadable, if set, is told as soon as the read finds stored
	// records the server cannot load, with the stream and their sequences.
	OnUnreadable func(stream string, seqs []uint64)
}

// Read calls fn with every record of dataset from pos, in stream order. Without
// Follow it returns once the records stored when it started are read. A
// non-nil error from fn stops the read and is returned. Records the server
// cannot load (damaged on disk) are passed over, never waited for: the read
// then ends with an error wrapping [jsread.ErrUnreadable] that names their
// sequences, after fn has seen every readable record.
func Read(ctx context.Context, js jetstream.JetStream, dataset string, pos Position, o ReadOptions, fn func(wire.Envelope) error) error {
	if err := pos.Validate(); err != nil {
		return err
	}
	cfg := jetstream.OrderedConsumerConfig{FilterSubjects: []string{wire.DataFilter(dataset)}}
	switch {
	case pos.Snapshot:
		cfg.DeliverPolicy = jetstream.DeliverLastPerSubjectPolicy
	case !pos.Since.IsZero():
		t := pos.Since
		cfg.DeliverPolicy = jetstream.DeliverByStartTimePolicy
		cfg.OptStartTime = &t
	case pos.AfterSeq > 0:
		cfg.DeliverPolicy = jetstream.DeliverByStartSequencePolicy
		cfg.OptStartSeq = pos.AfterSeq + 1
	default:
		cfg.DeliverPolicy = jetstream.DeliverAllPolicy
	}
	return consume(ctx, js, wire.StreamName(dataset), cfg, o, func(m jetstream.Msg, meta *jetstream.MsgMetadata) error {
		env, err := wire.EnvelopeFromMsg(m.Headers(), m.Data(), meta.Sequence.Stream, meta.Timestamp)
		if err != nil {
			return fmt.Errorf("dataset %s: %w", dataset, err)
		}
		if pos.Snapshot && env.Tombstone && !o.Tombstones {
			return nil
		}
		return fn(env)
	})
}

// ReadDeadLetters calls fn with the records rejected for dataset after the
// dead-letter sequence afterSeq. Damaged dead letters are passed over as in
// [Read].
func ReadDeadLetters(ctx context.Context, js jetstream.JetStream, dataset string, afterSeq uint64, o ReadOptions, fn func(wire.DeadLetter) error) error {
	cfg := jetstream.OrderedConsumerConfig{FilterSubjects: []string{wire.DeadLetterSubject(dataset)}}
	if afterSeq > 0 {
		cfg.DeliverPolicy = jetstream.DeliverByStartSequencePolicy
		cfg.OptStartSeq = afterSeq + 1
	}
	return consume(ctx, js, wire.DeadLetterStream, cfg, o, func(m jetstream.Msg, meta *jetstream.MsgMetadata) error {
		return fn(DeadLetterFromMsg(m.Subject(), m.Headers(), m.Data(), meta.Sequence.Stream))
	})
}

// DeadLetterFromMsg decodes a stored dead letter.
func DeadLetterFromMsg(subject string, h map[string][]string, data []byte, seq uint64) wire.DeadLetter {
	get := func(k string) string {
		if v := h[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	dl := wire.DeadLetter{
		Seq:       seq,
		Dataset:   get(wire.HeaderDataset),
		Subject:   get(wire.HeaderSubject),
		Publisher: get(wire.HeaderPublisher),
		Reason:    get(wire.HeaderReason),
		Origin:    get(wire.HeaderOrigin),
		Peer:      get(wire.HeaderPeer),
	}
	if p := get(wire.HeaderPath); p != "" {
		dl.Path = strings.Split(p, ",")
	}
	if id := get(wire.HeaderPublisherRecordID); id != "" {
		dl.RecordID = id
		if origin := get(wire.HeaderOrigin); origin != "" && dl.Publisher != "" {
			dl.ID = wire.EnvelopeID(origin, dl.Publisher, id)
		}
	}
	if dl.Dataset == "" {
		dl.Dataset = strings.TrimPrefix(subject, wire.DeadLetterPrefix+".")
	}
	if t, err := time.Parse(time.RFC3339Nano, get(wire.HeaderRejectedAt)); err == nil {
		dl.RejectedAt = t
	}
	if v := get(wire.HeaderViolations); v != "" {
		_ = json.Unmarshal([]byte(v), &dl.Violations) // best effort: the reason header says it too
	}
	if json.Valid(data) {
		dl.Data = json.RawMessage(data)
	} else {
		s := string(data)
		if !utf8.ValidString(s) {
			s = strings.ToValidUTF8(s, "\uFFFD")
		}
		b, _ := json.Marshal(s)
		dl.Data = b
	}
	return dl
}

// consume reads stream in order (see jsread); a missing stream is ErrNoStream.
func consume(ctx context.Context, js jetstream.JetStream, stream string, cfg jetstream.OrderedConsumerConfig, o ReadOptions, fn func(jetstream.Msg, *jetstream.MsgMetadata) error) error {
	jo := jsread.Options{Follow: o.Follow}
	if o.OnUnreadable != nil {
		jo.OnUnreadable = func(seqs []uint64) { o.OnUnreadable(stream, seqs) }
	}
	err := jsread.Read(ctx, js, stream, cfg, jo, fn)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return fmt.Errorf("stream %s: %w", stream, ErrNoStream)
	}
	return err
}
