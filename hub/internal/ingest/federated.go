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
	mfut    jetstream.PubAckFuture // the seen marker being stored
	merr    error
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
	s.submitMu.RLock()
	defer s.submitMu.RUnlock()
	if s.closed || s.work == nil {
		return ErrStopped
	}
	j := &job{fed: f, done: make(chan struct{})}
	s.order <- j
	s.work <- j
	return nil
}

// checkFederated is check for a federated record: it runs on the workers.
func (s *Service) checkFederated(f *federated) *pending {
	d, ok := s.reg.Get(f.Dataset)
	if !ok {
		return s.fedUnavailable(f, fmt.Errorf("dataset %q is not declared on this hub", f.Dataset))
	}
	f.dataset = d
	if s.opts.Seen == nil {
		return s.fedUnavailable(f, fmt.Errorf("federated records are not taken by this hub (no record of the records seen)"))
	}
	if why := s.fedClaims(f); why != "" {
		return s.rejectFederated(f, "federated record refused: "+why, []wire.Violation{{Keyword: "federation", Message: why}})
	}
	v, viol := d.Schema.Check(f.Data, s.opts.Limits)
	if len(viol) > 0 {
		return s.rejectFederated(f, reasonOf(viol), viol)
	}
	key, kv := d.KeyOf(v)
	if kv != nil {
		return s.rejectFederated(f, kv.Message, []wire.Violation{*kv})
	}
	f.envID = wire.EnvelopeID(f.Origin, f.Publisher, f.RecordID)
	f.sum = seen.Sum(f.Data)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	reply := wire.Reply{Status: wire.StatusStored, ID: f.RecordID, EnvelopeID: f.envID, Dataset: d.Name, Key: key}
	subject := d.Subject(key, f.Origin, f.Publisher)
	mk, found, err := s.opts.Seen.Lookup(ctx, d.Name, f.envID)
	if err != nil {
		return s.fedUnavailable(f, err)
	}
	if !found && f.Redelivered {
		// Stored, perhaps, by a run that stopped before marking it: look
		// for it under its key (rare: only records delivered again).
		st, err := s.stream(ctx, wire.StreamName(d.Name))
		if err != nil {
			return s.fedUnavailable(f, err)
		}
		seq, ok, err := seen.FindStored(ctx, st, subject, f.envID)
		if err != nil {
			return s.fedUnavailable(f, err)
		}
		if ok {
			m, err := st.GetMsg(ctx, seq)
			if err != nil {
				return s.fedUnavailable(f, err)
			}
			mk, found = seen.Mark{Seq: seq, Sum: seen.Sum(m.Data)}, true
			if err := s.opts.Seen.Put(ctx, d.Name, f.envID, mk, d.Retention); err != nil {
				return s.fedUnavailable(f, err)
			}
		}
	}
	if found {
		reply.Seq = mk.Seq
		if mk.Sum == f.sum {
			reply.Status = wire.StatusDuplicate
			return &pending{fed: f, reply: reply}
		}
		why := fmt.Sprintf("record id %q of %s@%s was already stored here (seq %d) with different content: the origin hub reused a record id", f.RecordID, f.Publisher, f.Origin, mk.Seq)
		p := s.rejectFederated(f, why, []wire.Violation{{Keyword: "conflict", Message: why}})
		p.reply = wire.Reply{Status: wire.StatusConflict, Code: wire.CodeConflict, ID: f.RecordID, EnvelopeID: f.envID, Dataset: d.Name, Key: key, Seq: mk.Seq, Error: why}
		return p
	}
	if !d.ScopedByPublisher() {
		// Owners are per origin: a peer's record never writes a key owned
		// by a publisher of this hub (or of another origin).
		why, err := s.keyRefusal(d, key, f.Origin, f.Publisher)
		if err != nil {
			return s.fedUnavailable(f, err)
		}
		if why != "" {
			return s.rejectFederated(f, why, []wire.Violation{{Pointer: d.KeyPointer(), Keyword: "owner", Message: why}})
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
	if d.IsTombstone(v) {
		h[wire.HeaderTombstone] = []string{"true"}
	}
	out := &nats.Msg{Subject: subject, Data: f.Data, Header: h}
	return &pending{fed: f, out: out, reply: reply}
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

// rejectFederated is reject for a federated record: the dead letter names
// the publisher and origin the giving hub stamped, the peer and the path.
func (s *Service) rejectFederated(f *federated, reason string, viol []wire.Violation) *pending {
	m := &nats.Msg{Subject: "peer:" + f.Peer, Data: f.Data, Header: nats.Header{wire.RequestRecordID: {f.RecordID}}}
	p := s.reject(m, f.Dataset, f.Publisher, reason, viol)
	h := p.out.Header
	if f.Origin != "" {
		h.Set(wire.HeaderOrigin, f.Origin)
	}
	h.Set(wire.HeaderPeer, f.Peer)
	if len(f.Path) > 0 {
		h.Set(wire.HeaderPath, headerSafe(strings.Join(f.Path, ",")))
	}
	p.req, p.fed = nil, f
	return p
}

func (s *Service) fedUnavailable(f *federated, err error) *pending {
	s.log.Warn("federated record not stored", "dataset", f.Dataset, "peer", f.Peer, "err", err)
	return &pending{fed: f, reply: wire.Reply{Status: wire.StatusUnavailable, Code: wire.CodeUnavailable, ID: f.RecordID, Dataset: f.Dataset,
		Error: "not stored, retry: " + err.Error()}}
}

// startMark starts storing the seen marker of p, a federated record just
// stored; marker answers it once the marker is stored.
func (s *Service) startMark(p *pending) {
	f := p.fed
	mk := seen.Mark{Seq: p.reply.Seq, Sum: f.sum}
	f.mfut, f.merr = s.publish(seen.Msg(f.dataset.Name, f.envID, mk, f.dataset.Retention))
}

// marker answers stored federated records, in order, once each one's seen
// marker is stored. A record whose marker could not be stored is answered
// unavailable, so its link delivers it again: JetStream's dedupe window
// then answers it as a duplicate, and the marker is written then.
func (s *Service) marker(marks <-chan *pending) {
	for p := range marks {
		f := p.fed
		if f.merr == nil {
			select {
			case <-f.mfut.Ok():
			case err := <-f.mfut.Err():
				f.merr = err
			}
		}
		if f.merr != nil {
			s.log.Warn("federated record stored but not marked as seen; it will be delivered again", "dataset", f.Dataset, "id", f.envID, "err", f.merr)
			p.reply = wire.Reply{Status: wire.StatusUnavailable, Code: wire.CodeUnavailable, ID: f.RecordID, Dataset: f.Dataset,
				Error: "stored, but not marked as seen: " + f.merr.Error()}
		}
		s.answer(p)
	}
}

// markDuplicate marks a federated record JetStream answered as a duplicate
// (within its dedupe window): the marker of the first copy may be the one
// that a crash lost.
func (s *Service) markDuplicate(p *pending) {
	f := p.fed
	if f == nil || p.reply.Status != wire.StatusDuplicate {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.opts.Seen.Put(ctx, f.dataset.Name, f.envID, seen.Mark{Seq: p.reply.Seq, Sum: f.sum}, f.dataset.Retention); err != nil {
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
