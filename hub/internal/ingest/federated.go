package ingest

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/hub/internal/registry"
	"github.com/jobtech-dev/datahub/hub/internal/seen"
)

// This file is the trusted entry for federated records: records a
// federation link took from a peer hub, which keep the publisher, origin
// and record id the giving hub stamped. It is a Go call, not a subject, so
// no actor and no peer can reach it; an actor's record always comes in on
// its ingest subject, whose last token is the publisher (service.go), and
// nothing it sends can claim another publisher or origin.

// Federated is one record a federation link took from a peer hub, with what
// the giving hub stamped on it.
type Federated struct {
	// Dataset is the local dataset the record goes to (the link may map a
	// peer's dataset to another local name).
	Dataset string
	// Data is the record as stored on the giving hub.
	Data []byte
	// RecordID, Publisher and Origin are the giving hub's stamps: the
	// publisher's record id, the publisher and the hub it published on.
	RecordID, Publisher, Origin string
	// Path is the hubs the record crossed, origin first and the giving
	// peer last (wire.RecordPath).
	Path []string
	// Peer is the peer hub the link took it from.
	Peer string
	// Redelivered says the peer delivered it before: it may have been
	// stored already by a run that stopped before marking it as seen.
	Redelivered bool
}

// federated is a Federated on its way through the pipeline.
type federated struct {
	Federated
	done    func(wire.Reply)
	path    []string // Path with this hub added
	envID   string
	sum     string
	dataset *registry.Dataset
}

// SubmitFederated hands a federated record to the pipeline, behind the
// records already taken: one link's records are stored in the order it
// submits them. done is called once, from the pipeline, when the outcome is
// durable: stored; duplicate (this hub stored the record before, from any
// path, for as long as the dataset keeps records — see package seen);
// conflict or rejected (kept in the dead-letter stream with the reason, the
// origin and the peer); or unavailable (not stored: deliver it again
// later). The record is validated against this hub's own schema of Dataset,
// its key and tombstone flag are read by this hub's declaration, and its
// key must not be owned by another publisher or origin here.
//
// It returns ErrStopped, without calling done, when the service stopped.
func (s *Service) SubmitFederated(r Federated, done func(wire.Reply)) error {
	f := &federated{Federated: r, done: done}
	// msg stands in for the request: the dead letter's subject names the peer.
	j := &job{fed: f, msg: &nats.Msg{Subject: "peer:" + r.Peer}, data: r.Data, id: r.RecordID, idGiven: true, actor: r.Publisher}
	s.submitMu.RLock()
	defer s.submitMu.RUnlock()
	if s.closed || s.work == nil {
		return ErrStopped
	}
	s.line.admit(j)
	s.work <- j
	return nil
}

// checkFederated is check for a federated record: it runs on the workers
// and leaves in j what to store, or the answer.
func (s *Service) checkFederated(j *job) {
	f := j.fed
	d, ok := s.reg.Get(f.Dataset)
	if !ok {
		s.fedUnavailable(j, fmt.Errorf("dataset %q is not declared on this hub", f.Dataset))
		return
	}
	f.dataset = d
	if s.opts.Seen == nil {
		s.fedUnavailable(j, fmt.Errorf("federated records are not taken by this hub (no record of the records seen)"))
		return
	}
	if why := s.fedClaims(f); why != "" {
		s.reject(j, f.Dataset, "federated record refused: "+why, []wire.Violation{{Keyword: "federation", Message: why}})
		return
	}
	// This hub's latest schema of the dataset, on the one-pass validator.
	res := d.Checker().Check(f.Data, s.opts.Limits)
	if res.Reference {
		s.byReference.Add(1)
	}
	if len(res.Violations) > 0 {
		s.reject(j, f.Dataset, reasonOf(res.Violations), res.Violations)
		return
	}
	if res.KeyProblem != "" {
		kv := d.KeyViolation(res.KeyProblem)
		s.reject(j, f.Dataset, kv.Message, []wire.Violation{*kv})
		return
	}
	key := res.Key
	f.envID = wire.EnvelopeID(f.Origin, f.Publisher, f.RecordID)
	f.sum = seen.Sum(f.Data)
	ctx, cancel := context.WithTimeout(s.life, 10*time.Second)
	defer cancel()
	reply := wire.Reply{Status: wire.StatusStored, ID: f.RecordID, EnvelopeID: f.envID, Dataset: d.Name, Key: key}
	subject := d.Subject(key, f.Origin, f.Publisher)
	mk, found, err := s.opts.Seen.Lookup(ctx, d.Name, f.envID)
	if err != nil {
		s.fedUnavailable(j, err)
		return
	}
	if !found && f.Redelivered {
		// Stored, perhaps, by a run that stopped before marking it: look
		// for it under its key (rare: only records delivered again).
		st, err := s.stream(ctx, wire.StreamName(d.Name))
		if err != nil {
			s.fedUnavailable(j, err)
			return
		}
		seq, ok, err := seen.FindStored(ctx, st, subject, f.envID)
		if err != nil {
			s.fedUnavailable(j, err)
			return
		}
		if ok {
			m, err := st.GetMsg(ctx, seq)
			if err != nil {
				s.fedUnavailable(j, err)
				return
			}
			mk, found = seen.Mark{Seq: seq, Sum: seen.Sum(m.Data)}, true
			if err := s.opts.Seen.Put(ctx, d.Name, f.envID, mk, d.Retention); err != nil {
				s.fedUnavailable(j, err)
				return
			}
		}
	}
	if found {
		reply.Seq = mk.Seq
		if mk.Sum == f.sum {
			reply.Status = wire.StatusDuplicate
			j.out, j.reply = nil, reply
			return
		}
		why := fmt.Sprintf("record id %q of %s@%s was already stored here (seq %d) with different content: the origin hub reused a record id", f.RecordID, f.Publisher, f.Origin, mk.Seq)
		s.reject(j, f.Dataset, why, []wire.Violation{{Keyword: "conflict", Message: why}})
		j.reply = wire.Reply{Status: wire.StatusConflict, Code: wire.CodeConflict, ID: f.RecordID, EnvelopeID: f.envID, Dataset: d.Name, Key: key, Seq: mk.Seq, Error: why}
		return
	}
	if !d.ScopedByPublisher() {
		// Owners are per origin: a peer's record never writes a key owned
		// by a publisher of this hub (or of another origin).
		why, err := s.keyRefusal(d, key, f.Origin, f.Publisher)
		if err != nil {
			s.fedUnavailable(j, err)
			return
		}
		if why != "" {
			s.reject(j, f.Dataset, why, []wire.Violation{{Pointer: d.KeyPointer(), Keyword: "owner", Message: why}})
			return
		}
	}
	h := nats.Header{
		wire.HeaderRecordID:          {f.envID},
		wire.HeaderPublisherRecordID: {f.RecordID},
		wire.HeaderDataset:           {d.Name},
		wire.HeaderKey:               {key},
		wire.HeaderSchemaVersion:     {strconv.Itoa(d.SchemaVersion)},
		wire.HeaderPublisher:         {f.Publisher},
		wire.HeaderOrigin:            {f.Origin},
		wire.HeaderPath:              {strings.Join(f.path, ",")},
	}
	if res.Tombstone {
		h[wire.HeaderTombstone] = []string{"true"}
	}
	j.out = &nats.Msg{Subject: subject, Data: f.Data, Header: h}
	j.reply = reply
}

// fedClaims checks what the giving hub stamped, and says what is wrong: a
// record must name its origin, publisher and record id; its path must start
// at the origin and end at the peer it came from; and it must not have been
// on this hub before (no loops, and no copy of this hub's own records).
func (s *Service) fedClaims(f *federated) string {
	switch {
	case !wire.ValidName(f.Origin):
		return fmt.Sprintf("origin %q is not a hub name", f.Origin)
	case !wire.ValidName(f.Publisher):
		return fmt.Sprintf("publisher %q is not an actor name", f.Publisher)
	case !wire.ValidRecordID(f.RecordID):
		return fmt.Sprintf("record id %q is not a valid record id", f.RecordID)
	case f.Origin == s.opts.Origin:
		return fmt.Sprintf("its origin is this hub (%s): a hub never takes its own records back", f.Origin)
	}
	if err := wire.CheckPath(f.Path, f.Origin); err != nil {
		return err.Error()
	}
	if slices.Contains(f.Path, s.opts.Origin) {
		return fmt.Sprintf("its path %s already names this hub: records never loop", strings.Join(f.Path, ","))
	}
	if last := f.Path[len(f.Path)-1]; last != f.Peer {
		return fmt.Sprintf("its path %s ends at %q, not at the peer %q it came from", strings.Join(f.Path, ","), last, f.Peer)
	}
	if len(f.Path) >= wire.MaxPathHops {
		return fmt.Sprintf("its path %s is as long as a path may be (%d hubs)", strings.Join(f.Path, ","), wire.MaxPathHops)
	}
	f.path = append(slices.Clip(f.Path), s.opts.Origin)
	return ""
}

func (s *Service) fedUnavailable(j *job, err error) {
	f := j.fed
	s.log.Warn("federated record not stored", "dataset", f.Dataset, "peer", f.Peer, "err", err)
	j.out = nil
	j.reply = wire.Reply{Status: wire.StatusUnavailable, Code: wire.CodeUnavailable, ID: f.RecordID, Dataset: f.Dataset,
		Error: "not stored, retry: " + err.Error()}
}

// markStored marks j, a federated record just stored, as seen, before it
// is answered. A record whose marker could not be stored is answered
// unavailable, so its link delivers it again: JetStream's dedupe window
// then answers it as a duplicate, and the marker is written then
// (markDuplicate). Its link takes answers in any order.
func (s *Service) markStored(j *job) {
	f := j.fed
	ctx, cancel := context.WithTimeout(s.life, 10*time.Second)
	defer cancel()
	mk := seen.Mark{Seq: j.reply.Seq, Sum: f.sum}
	if _, err := s.js.PublishMsg(ctx, seen.Msg(f.dataset.Name, f.envID, mk, f.dataset.Retention)); err != nil {
		s.log.Warn("federated record stored but not marked as seen; it will be delivered again", "dataset", f.Dataset, "id", f.envID, "err", err)
		j.reply = wire.Reply{Status: wire.StatusUnavailable, Code: wire.CodeUnavailable, ID: f.RecordID, Dataset: f.Dataset,
			Error: "stored, but not marked as seen: " + err.Error()}
	}
}

// markDuplicate marks a federated record JetStream answered as a duplicate
// (within its dedupe window): the marker of the first copy may be the one
// that a crash lost.
func (s *Service) markDuplicate(j *job) {
	f := j.fed
	if f == nil || j.reply.Status != wire.StatusDuplicate {
		return
	}
	ctx, cancel := context.WithTimeout(s.life, 10*time.Second)
	defer cancel()
	if err := s.opts.Seen.Put(ctx, f.dataset.Name, f.envID, seen.Mark{Seq: j.reply.Seq, Sum: f.sum}, f.dataset.Retention); err != nil {
		s.log.Warn("mark a federated duplicate as seen", "dataset", f.Dataset, "id", f.envID, "err", err)
	}
}

// stream is the handle of a stream, cached.
func (s *Service) stream(ctx context.Context, name string) (jetstream.Stream, error) {
	if st, ok := s.streams.Load(name); ok {
		return st.(jetstream.Stream), nil
	}
	h, err := s.js.Stream(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", name, err)
	}
	st, _ := s.streams.LoadOrStore(name, h)
	return st.(jetstream.Stream), nil
}
