package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
)

// verifyDuplicate decides what a duplicate acknowledgement means for p (a
// federated record's conflict is dead-lettered naming its peer and path).
// JetStream already holds a record under p's envelope id (the same
// publisher's record id, within the dedupe window) at p.reply.Seq. When the
// stored bytes are p's, p is a retry: "duplicate". Otherwise the id was used
// again for different content, which a duplicate answer would hide: p is
// answered "conflict" and kept in the dead-letter stream. Only duplicates pay
// for this: one direct read of the stored record.
func (s *Service) verifyDuplicate(p *job, stream string) {
	ctx, cancel := context.WithTimeout(s.life, 10*time.Second)
	defer cancel()
	stored, err := s.storedMsg(ctx, stream, p.reply.Seq)
	var why string
	switch {
	case err == nil && bytes.Equal(stored.Data, p.out.Data):
		p.reply.Status = wire.StatusDuplicate
		return
	case err == nil:
		why = fmt.Sprintf("record id %q was already stored by this publisher (seq %d) with different content: a changed record needs a new record id", p.reply.ID, p.reply.Seq)
	case errors.Is(err, jetstream.ErrMsgNotFound):
		why = fmt.Sprintf("record id %q was already used by this publisher within the dedupe window (seq %d), and that record is no longer held to compare with: give this record a new record id", p.reply.ID, p.reply.Seq)
	default:
		s.log.Error("compare a duplicate with its stored record", "dataset", p.reply.Dataset, "seq", p.reply.Seq, "err", err)
		p.reply = wire.Reply{Status: wire.StatusUnavailable, Code: wire.CodeUnavailable, ID: p.reply.ID, Dataset: p.reply.Dataset,
			Error: "could not compare the record with the one stored under its id, retry: " + err.Error()}
		return
	}
	dl := s.deadLetter(p, p.reply.Dataset, why, []wire.Violation{{Keyword: "conflict", Message: why}})
	if _, err := s.js.PublishMsg(ctx, dl); err != nil {
		s.log.Error("store dead letter", "dataset", p.reply.Dataset, "err", err)
		why += "; keeping it in the dead-letter stream failed: " + err.Error()
	}
	p.reply = wire.Reply{Status: wire.StatusConflict, Code: wire.CodeConflict, ID: p.reply.ID, EnvelopeID: p.reply.EnvelopeID,
		Dataset: p.reply.Dataset, Key: p.reply.Key, Seq: p.reply.Seq, Error: why}
}

// storedMsg reads the record at seq of stream, directly from the stream
// (dataset streams allow direct gets).
func (s *Service) storedMsg(ctx context.Context, stream string, seq uint64) (*jetstream.RawStreamMsg, error) {
	st, err := s.stream(ctx, stream)
	if err != nil {
		return nil, err
	}
	return st.GetMsg(ctx, seq)
}
