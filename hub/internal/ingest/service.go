package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jobtech-dev/datahub/connector-kit/schema"
	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/hub/internal/owners"
	"github.com/jobtech-dev/datahub/hub/internal/registry"
)

// Options tune the service. The zero value works.
type Options struct {
	// Origin is the hub name stamped into every record.
	Origin string
	// Limits bound each record.
	Limits schema.Limits
	// Workers validate records in parallel; default GOMAXPROCS.
	Workers int
	// Window bounds the JetStream publishes in flight per worker; default 1024.
	Window int
	// Owners decides who may write a key of a dataset whose keys are
	// shared (key_scope: dataset); without it such records are refused as
	// unavailable.
	Owners *owners.Store
	Logger *slog.Logger
}

// Counts are running totals since start, for metrics and tests.
type Counts struct {
	Stored, Duplicates, Conflicts, Rejected, Unavailable uint64
}

// Service validates and stores published records.
type Service struct {
	nc   *nats.Conn
	js   jetstream.JetStream
	reg  *registry.Registry
	opts Options
	log  *slog.Logger

	sub      *nats.Subscription
	work     chan *job // to the workers, any order
	order    chan *job // to the publisher, arrival order
	workers  sync.WaitGroup
	wg       sync.WaitGroup // publisher and acker
	stopOnce sync.Once
	stopErr  error

	stored, dups, conflicts, rejected, unavailable atomic.Uint64
	streams                                        sync.Map // stream name → jetstream.Stream, for duplicate checks
	verifying                                      chan struct{}
}

// New returns a service that receives on nc and stores through js. Give js
// its own connection so acks and requests do not queue behind each other.
func New(nc *nats.Conn, js jetstream.JetStream, reg *registry.Registry, o Options) *Service {
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	if o.Window <= 0 {
		o.Window = 1024
	}
	if o.Origin == "" {
		o.Origin = "hub"
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{nc: nc, js: js, reg: reg, opts: o, log: log.With("component", "ingest"), verifying: make(chan struct{}, maxVerifying)}
}

// maxVerifying bounds the duplicate checks in flight; past it the acker
// waits, so a flood of duplicates slows its sender, not the hub's memory.
const maxVerifying = 256

// claimTimeout bounds the claim of a new key in a dataset with owned keys.
const claimTimeout = 5 * time.Second

// job is one record on its way through the pipeline. Workers fill in
// result in parallel; the publisher consumes jobs in arrival order.
type job struct {
	msg    *nats.Msg
	done   chan struct{}
	result *pending
}

// Start subscribes to every ingest subject and starts the pipeline:
// subscription (arrival order) → workers (validate in parallel) → publisher
// (JetStream publish in arrival order, so one publisher's records are stored
// in the order it sent them) → acker (answers after each ack).
func (s *Service) Start(ctx context.Context) error {
	depth := s.opts.Window * s.opts.Workers
	s.work = make(chan *job, depth)
	s.order = make(chan *job, depth)
	acks := make(chan *pending, depth)
	for i := 0; i < s.opts.Workers; i++ {
		s.workers.Add(1)
		go func() { defer s.workers.Done(); s.worker() }()
	}
	s.wg.Add(2)
	go func() { defer s.wg.Done(); defer close(acks); s.publisher(acks) }()
	go func() { defer s.wg.Done(); s.acker(acks) }()
	sub, err := s.nc.QueueSubscribe(wire.IngestWildcard, wire.IngestQueue, func(m *nats.Msg) {
		j := &job{msg: m, done: make(chan struct{})}
		s.order <- j
		s.work <- j
	})
	if err != nil {
		s.closePipeline()
		return fmt.Errorf("subscribe %s: %w", wire.IngestWildcard, err)
	}
	// Clients bound what they keep in flight; this only needs to hold a burst.
	_ = sub.SetPendingLimits(1<<20, 1<<30)
	s.sub = sub
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
	}
	if err := s.nc.FlushWithContext(ctx); err != nil {
		return fmt.Errorf("subscribe %s: %w", wire.IngestWildcard, err)
	}
	return nil
}

// closePipeline lets every stage finish what it holds and waits for it.
func (s *Service) closePipeline() {
	close(s.work)
	s.workers.Wait()
	close(s.order)
	s.wg.Wait()
}

// Stop stops taking records, finishes those already taken (each gets its
// answer) and returns when all are done or ctx ends.
func (s *Service) Stop(ctx context.Context) error {
	if s.sub == nil {
		return nil
	}
	s.stopOnce.Do(func() { s.stopErr = s.stop(ctx) })
	return s.stopErr
}

func (s *Service) stop(ctx context.Context) error {
	if err := s.sub.Drain(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
		s.log.Warn("drain ingest subscription", "err", err)
	}
	for s.sub.IsValid() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("stop ingest: %w", ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
	done := make(chan struct{})
	go func() { s.closePipeline(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("stop ingest: %w", ctx.Err())
	}
}

// Counts reports running totals.
func (s *Service) Counts() Counts {
	return Counts{Stored: s.stored.Load(), Duplicates: s.dups.Load(), Conflicts: s.conflicts.Load(), Rejected: s.rejected.Load(), Unavailable: s.unavailable.Load()}
}

// pending is a checked record: what to store (the record or its dead
// letter), then the publish in flight, then the answer.
type pending struct {
	req      *nats.Msg
	out      *nats.Msg // to store; nil when the answer is already known
	fut      jetstream.PubAckFuture
	reply    wire.Reply
	rejected bool
}

func (s *Service) worker() {
	for j := range s.work {
		j.result = s.check(j.msg)
		close(j.done)
	}
}

// publisher starts the JetStream publishes in arrival order.
func (s *Service) publisher(acks chan<- *pending) {
	for j := range s.order {
		<-j.done
		acks <- s.store(j.result)
	}
}

// check validates one record and prepares what to store: the stamped record
// or its dead letter. It runs on many workers at once.
func (s *Service) check(m *nats.Msg) *pending {
	dataset, actor, err := wire.ParseIngestSubject(m.Subject)
	if err != nil {
		return s.reject(m, "", "", "bad ingest subject", []wire.Violation{{Keyword: "subject", Message: err.Error()}})
	}
	d, ok := s.reg.Get(dataset)
	if !ok {
		return s.reject(m, dataset, actor, "unknown dataset", []wire.Violation{{Keyword: "dataset", Message: fmt.Sprintf("dataset %q is not declared on this hub", dataset)}})
	}
	res := d.Checker().Check(m.Data, s.opts.Limits)
	if res.Disagreement {
		s.log.Warn("the fast validator refused a record the reference accepts; the reference's verdict stands", "dataset", dataset, "validator", d.Validator())
	}
	if len(res.Violations) > 0 {
		return s.reject(m, dataset, actor, reasonOf(res.Violations), res.Violations)
	}
	if res.KeyProblem != "" {
		kv := d.KeyViolation(res.KeyProblem)
		return s.reject(m, dataset, actor, kv.Message, []wire.Violation{*kv})
	}
	key := res.Key
	id := m.Header.Get(wire.RequestRecordID)
	if id == "" {
		u, err := uuid.NewV7()
		if err != nil {
			return s.unavailableNow(m, dataset, fmt.Errorf("make record id: %w", err))
		}
		id = u.String()
	} else if !wire.ValidRecordID(id) {
		return s.reject(m, dataset, actor, "bad record id", []wire.Violation{{Keyword: "recordId", Message: fmt.Sprintf("header %s must be 1 to %d printable ASCII characters without spaces", wire.RequestRecordID, wire.MaxRecordIDLen)}})
	}
	origin := s.opts.Origin
	if !d.ScopedByPublisher() {
		if p := s.claim(m, d, key, origin, actor); p != nil {
			return p
		}
	}
	// The envelope id carries origin and publisher: JetStream dedupes on it,
	// so each publisher's record ids are its own.
	envID := wire.EnvelopeID(origin, actor, id)
	h := nats.Header{
		wire.HeaderRecordID:          {envID},
		wire.HeaderPublisherRecordID: {id},
		wire.HeaderDataset:           {dataset},
		wire.HeaderKey:               {key},
		wire.HeaderSchemaVersion:     {strconv.Itoa(d.SchemaVersion)},
		wire.HeaderPublisher:         {actor},
		wire.HeaderOrigin:            {origin},
	}
	if res.Tombstone {
		h[wire.HeaderTombstone] = []string{"true"}
	}
	out := &nats.Msg{Subject: d.Subject(key, origin, actor), Data: m.Data, Header: h}
	return &pending{req: m, out: out, reply: wire.Reply{Status: wire.StatusStored, ID: id, EnvelopeID: envID, Dataset: dataset, Key: key}}
}

// claim checks that actor of origin may write key of d, a dataset whose keys
// are owned: it owns the key, or is the first to claim it. It returns nil
// when it may, else the refusal (dead-lettered, naming the owner) or an
// unavailable answer when ownership could not be decided.
func (s *Service) claim(m *nats.Msg, d *registry.Dataset, key, origin, actor string) *pending {
	if s.opts.Owners == nil {
		return s.unavailableNow(m, d.Name, errors.New("key ownership is not available on this hub"))
	}
	owner, known := s.opts.Owners.Lookup(d.Name, key) // a known key: no round trip
	mine := known && owner == owners.Owner{Origin: origin, Publisher: actor}
	if !known {
		ctx, cancel := context.WithTimeout(context.Background(), claimTimeout)
		defer cancel()
		var err error
		if owner, mine, err = s.opts.Owners.Claim(ctx, d.Name, key, origin, actor); err != nil {
			return s.unavailableNow(m, d.Name, err)
		}
	}
	if mine {
		return nil
	}
	msg := fmt.Sprintf("key %q belongs to %s: only its owner may store or remove a record under it (the owner of dataset %s, %s, or an admin can transfer it)",
		key, owner, d.Name, d.Owner)
	return s.reject(m, d.Name, actor, msg, []wire.Violation{{Pointer: d.KeyPointer(), Keyword: "owner", Message: msg}})
}

// store starts the JetStream publish of what p holds.
func (s *Service) store(p *pending) *pending {
	if p.out == nil {
		return p
	}
	fut, err := s.publish(p.out)
	if err == nil {
		p.fut = fut
		return p
	}
	if p.rejected {
		s.log.Error("store dead letter", "dataset", p.reply.Dataset, "err", err)
		p.reply.Error += "; keeping it in the dead-letter stream failed: " + err.Error()
		return p
	}
	return s.unavailableNow(p.req, p.reply.Dataset, err)
}

// publish starts an async publish, waiting out a full window rather than
// failing the record.
func (s *Service) publish(m *nats.Msg) (jetstream.PubAckFuture, error) {
	for attempt := 0; ; attempt++ {
		fut, err := s.js.PublishMsgAsync(m)
		if err == nil || !errors.Is(err, jetstream.ErrTooManyStalledMsgs) || attempt >= 50 {
			return fut, err
		}
		<-s.js.PublishAsyncComplete()
	}
}

// maxDeadLetterBytes bounds how much of an oversized record is kept, so a
// flood of huge bad records cannot push good dead letters out.
const maxDeadLetterBytes = 64 << 10

// maxViolationsHeader bounds the violations copied into the dead letter.
const maxViolationsHeader = 16 << 10

func (s *Service) reject(m *nats.Msg, dataset, actor, reason string, viol []wire.Violation) *pending {
	if actor == "" {
		actor = "?"
	}
	subjDataset := dataset
	if !wire.ValidName(subjDataset) {
		subjDataset = "_invalid"
	}
	vj, _ := json.Marshal(viol)
	if len(vj) > maxViolationsHeader {
		vj, _ = json.Marshal(viol[:1])
	}
	h := nats.Header{
		wire.HeaderDataset:    {dataset},
		wire.HeaderPublisher:  {actor},
		wire.HeaderRejectedAt: {time.Now().UTC().Format(time.RFC3339Nano)},
		wire.HeaderReason:     {headerSafe(reason)},
		wire.HeaderViolations: {string(vj)},
		wire.HeaderSubject:    {headerSafe(m.Subject)},
		wire.HeaderOrigin:     {s.opts.Origin},
	}
	if id := m.Header.Get(wire.RequestRecordID); wire.ValidRecordID(id) {
		h[wire.HeaderPublisherRecordID] = []string{id}
	}
	data := m.Data
	if len(data) > maxDeadLetterBytes {
		h["Hub-Truncated-From"] = []string{strconv.Itoa(len(data))}
		data = data[:maxDeadLetterBytes]
	}
	code := codeOf(viol)
	reply := wire.Reply{Status: wire.StatusFor(code), Code: code, Dataset: dataset, Error: reason, Violations: viol}
	out := &nats.Msg{Subject: wire.DeadLetterSubject(subjDataset), Data: data, Header: h}
	return &pending{req: m, out: out, reply: reply, rejected: true}
}

func (s *Service) unavailableNow(m *nats.Msg, dataset string, err error) *pending {
	s.log.Error("store record", "dataset", dataset, "err", err)
	return &pending{req: m, reply: wire.Reply{Status: wire.StatusUnavailable, Code: wire.CodeUnavailable, Dataset: dataset, Error: "not stored, retry: " + err.Error()}}
}

// acker answers publishers in the order their records were taken, each only
// after its publish is acknowledged. A duplicate is answered once its stored
// twin was compared (verifyDuplicate), without holding up the others.
func (s *Service) acker(acks <-chan *pending) {
	for p := range acks {
		if p.fut != nil {
			select {
			case ack := <-p.fut.Ok():
				if !p.rejected {
					p.reply.Seq = ack.Sequence
					if ack.Duplicate {
						s.verifying <- struct{}{}
						s.wg.Add(1)
						go func() {
							defer s.wg.Done()
							defer func() { <-s.verifying }()
							s.verifyDuplicate(p, ack.Stream)
							s.answer(p)
						}()
						continue
					}
				}
			case err := <-p.fut.Err():
				if p.rejected {
					s.log.Error("store dead letter", "dataset", p.reply.Dataset, "err", err)
					p.reply.Error += "; keeping it in the dead-letter stream failed: " + err.Error()
				} else {
					s.log.Error("store record", "dataset", p.reply.Dataset, "err", err)
					p.reply = wire.Reply{Status: wire.StatusUnavailable, Code: wire.CodeUnavailable, Dataset: p.reply.Dataset, Error: "not stored, retry: " + err.Error()}
				}
			}
		}
		s.answer(p)
	}
}

// answer counts p's outcome and sends the publisher its reply.
func (s *Service) answer(p *pending) {
	switch {
	case p.reply.Status == wire.StatusStored:
		s.stored.Add(1)
	case p.reply.Status == wire.StatusDuplicate:
		s.dups.Add(1)
	case p.reply.Status == wire.StatusConflict:
		s.conflicts.Add(1)
	case p.rejected:
		s.rejected.Add(1)
	default:
		s.unavailable.Add(1)
	}
	if p.req.Reply == "" {
		return
	}
	if _, actor, err := wire.ParseIngestSubject(p.req.Subject); err != nil || !wire.ReplyAllowed(actor, p.req.Reply) {
		s.log.Warn("answer not sent: reply subject outside the publisher's inbox", "subject", p.req.Subject, "reply", p.req.Reply)
		return
	}
	b, err := json.Marshal(p.reply)
	if err != nil {
		s.log.Error("encode ingest reply", "err", err)
		return
	}
	if err := s.nc.Publish(p.req.Reply, b); err != nil {
		s.log.Warn("answer publisher", "dataset", p.reply.Dataset, "err", err)
	}
}

// codeOf is the code of a rejection: the pre-checks for an undeclared
// dataset and an oversized record have their own, anything else is invalid.
func codeOf(viol []wire.Violation) wire.Code {
	for _, v := range viol {
		switch v.Keyword {
		case "dataset":
			return wire.CodeUnknownDataset
		case schema.KeywordMaxBytes:
			return wire.CodeTooLarge
		}
	}
	return wire.CodeInvalid
}

// reasonOf summarises violations in one line.
func reasonOf(v []wire.Violation) string {
	if len(v) == 1 {
		return oneLine(v[0])
	}
	return fmt.Sprintf("%d violations, first: %s", len(v), oneLine(v[0]))
}

func oneLine(v wire.Violation) string {
	p := v.Pointer
	if p == "" {
		p = "/"
	}
	return fmt.Sprintf("%s: %s (%s)", p, v.Message, v.Keyword)
}

// headerSafe keeps a header value on one line and bounded.
func headerSafe(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' {
			return ' '
		}
		return r
	}, s)
	if len(s) > 1024 {
		s = s[:1024]
	}
	return s
}
