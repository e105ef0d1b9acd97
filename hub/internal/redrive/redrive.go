package redrive

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/hub/internal/audit"
	"github.com/jobtech-dev/datahub/hub/internal/store"
)

// Bucket keeps what became of each dead letter re-driven and stored.
const Bucket = "hub_redrives"

// KindRedrive is the audit entry of a re-drive attempt.
const KindRedrive = "deadletter.redrive"

// StoreFunc stores data as publisher's record of dataset with recordID,
// through the validating ingest path (ingest.Service.StoreAs).
type StoreFunc func(ctx context.Context, dataset, publisher, recordID string, data []byte) (wire.Reply, error)

// Recorder stores an audit entry before the change it records is answered
// (*audit.Writer is one).
type Recorder interface {
	Record(ctx context.Context, e audit.Entry) (audit.Entry, error)
}

// Result is what a re-drive did.
type Result struct {
	// DeadLetter is the dead letter's sequence in the dead-letter stream.
	DeadLetter uint64 `json:"dead_letter"`
	Dataset    string `json:"dataset"`
	Publisher  string `json:"publisher"`
	RecordID   string `json:"record_id"`
	// Reply is the ingest path's answer: stored (with its seq), duplicate,
	// or the violations of a record the schema still refuses.
	Reply wire.Reply `json:"reply"`
	By    string     `json:"by"`
	At    time.Time  `json:"at"`
}

// Stored reports whether the record is in the dataset now.
func (r Result) Stored() bool {
	return r.Reply.Status == wire.StatusStored || r.Reply.Status == wire.StatusDuplicate
}

// Service re-drives dead letters.
type Service struct {
	js    jetstream.JetStream
	kv    jetstream.KeyValue
	store StoreFunc
	audit Recorder
	log   *slog.Logger
}

// Open opens the re-drive bucket.
func Open(ctx context.Context, js jetstream.JetStream, st StoreFunc, rec Recorder, log *slog.Logger) (*Service, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: Bucket, Description: "dead letters re-driven and stored", Storage: jetstream.FileStorage})
	if err != nil {
		return nil, fmt.Errorf("open bucket %s: %w", Bucket, err)
	}
	return &Service{js: js, kv: kv, store: st, audit: rec, log: log.With("component", "redrive")}, nil
}

// Done returns the re-drive that stored the dead letter at seq, if any.
func (s *Service) Done(ctx context.Context, seq uint64) (Result, bool) {
	e, err := s.kv.Get(ctx, strconv.FormatUint(seq, 10))
	if err != nil {
		return Result{}, false
	}
	var r Result
	if json.Unmarshal(e.Value(), &r) != nil {
		return Result{}, false
	}
	return r, true
}

// Redrive sends the dead letter of dataset at seq through the ingest path
// again as its original publisher's record, and audits the attempt. A record
// the schema still refuses is not an error: the Result's reply carries the
// violations. Errors: ErrNotFound, ErrNotRedrivable, ErrAlreadyRedriven
// (with the earlier Result), or the ingest path's context error.
func (s *Service) Redrive(ctx context.Context, dataset string, seq uint64, by string) (Result, error) {
	if prev, ok := s.Done(ctx, seq); ok {
		return prev, fmt.Errorf("dead letter %d of %s: %w at %s by %s (stored as seq %d)", seq, dataset, ErrAlreadyRedriven,
			prev.At.Format(time.RFC3339), prev.By, prev.Reply.Seq)
	}
	st, err := s.js.Stream(ctx, wire.DeadLetterStream)
	if err != nil {
		return Result{}, fmt.Errorf("dead-letter stream: %w", err)
	}
	raw, err := st.GetMsg(ctx, seq)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return Result{}, fmt.Errorf("dead letter %d of %s: %w (expired, or never there)", seq, dataset, ErrNotFound)
	}
	if err != nil {
		return Result{}, fmt.Errorf("read dead letter %d: %w", seq, err)
	}
	dl := store.DeadLetterFromMsg(raw.Subject, raw.Header, raw.Data, seq)
	if dl.Dataset != dataset {
		return Result{}, fmt.Errorf("dead letter %d is of dataset %q, not %s: %w", seq, dl.Dataset, dataset, ErrNotFound)
	}
	if raw.Header.Get("Hub-Truncated-From") != "" {
		return Result{}, fmt.Errorf("dead letter %d of %s holds only the first 64 KiB of a %s-byte record: %w", seq, dataset, raw.Header.Get("Hub-Truncated-From"), ErrNotRedrivable)
	}
	if !wire.ValidName(dl.Publisher) {
		return Result{}, fmt.Errorf("dead letter %d of %s names no publisher (%q): %w", seq, dataset, dl.Publisher, ErrNotRedrivable)
	}
	id := dl.RecordID
	if id == "" {
		id = "deadletter-" + strconv.FormatUint(seq, 10)
	}
	reply, err := s.store(ctx, dataset, dl.Publisher, id, raw.Data)
	if err != nil {
		return Result{}, err
	}
	res := Result{DeadLetter: seq, Dataset: dataset, Publisher: dl.Publisher, RecordID: id, Reply: reply, By: by, At: time.Now().UTC()}
	if res.Stored() {
		b, _ := json.Marshal(res)
		if _, err := s.kv.Put(ctx, strconv.FormatUint(seq, 10), b); err != nil {
			s.log.Warn("re-drive stored but not recorded as done", "dead_letter", seq, "err", err)
		}
	}
	detail, _ := json.Marshal(map[string]any{"dead_letter": seq, "publisher": dl.Publisher, "record_id": id, "status": reply.Status,
		"seq": reply.Seq, "reason": dl.Reason, "error": reply.Error, "violations": len(reply.Violations)})
	if _, err := s.audit.Record(ctx, audit.Entry{Kind: KindRedrive, Actor: by, Subject: dataset + "/" + strconv.FormatUint(seq, 10), Detail: detail}); err != nil {
		return res, fmt.Errorf("dead letter %d re-driven (%s), but its audit entry is not stored yet: %w", seq, reply.Status, err)
	}
	s.log.Info("dead letter re-driven", "dataset", dataset, "dead_letter", seq, "publisher", dl.Publisher, "status", reply.Status, "by", by)
	return res, nil
}
