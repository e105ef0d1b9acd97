package ingest

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
)

// StoreAs checks data against dataset's current schema and stores it as
// publisher's record with recordID, exactly as publisher's own publish would
// be stored now: the same checks, stamps, key ownership and de-duplication
// (origin:publisher:recordID). It is the trusted entry for an admin's
// re-drive of a dead letter after a schema fix: the NATS server's permission
// check is not involved, because the caller (the admin API) is trusted and
// the publisher is the one the dead letter recorded, never the caller.
//
// A record that is still refused is answered with its violations and is not
// dead-lettered again: it already is. The error is only for a context that
// ended; every other outcome is in the reply (stored, duplicate, conflict,
// rejected, unavailable).
//
// It does not go through the ring: it is checked on the caller's goroutine
// and stored with one synchronous publish (re-drives are rare and one at a
// time).
func (s *Service) StoreAs(ctx context.Context, dataset, publisher, recordID string, data []byte) (wire.Reply, error) {
	if !wire.ValidName(dataset) || !wire.ValidName(publisher) {
		return wire.Reply{}, fmt.Errorf("store as %q on %q: %w", publisher, dataset, ErrBadName)
	}
	m := &nats.Msg{Subject: wire.IngestSubject(dataset, publisher), Data: data, Header: nats.Header{}}
	if recordID != "" {
		m.Header.Set(wire.RequestRecordID, recordID)
	}
	j := &job{msg: m, data: data, id: recordID, idGiven: recordID != "", at: time.Now()}
	s.check(j)
	if j.rejected || j.out == nil {
		// Already dead-lettered once: answer without a second copy.
		if j.rejected {
			s.rejected.Add(1)
		}
		return j.reply, ctx.Err()
	}
	ack, err := s.js.PublishMsg(ctx, j.out)
	if err != nil {
		if ctx.Err() != nil {
			return wire.Reply{}, ctx.Err()
		}
		s.log.Error("store re-driven record", "dataset", dataset, "err", err)
		j.reply = wire.Reply{Status: wire.StatusUnavailable, Code: wire.CodeUnavailable, Dataset: dataset, Error: "not stored, retry: " + err.Error()}
		s.answer(j)
		return j.reply, nil
	}
	j.reply.Seq = ack.Sequence
	if ack.Duplicate {
		s.verifyDuplicate(j, ack.Stream)
	} else {
		s.onStored(j)
	}
	s.answer(j)
	return j.reply, nil
}
