package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jobtech-dev/datahub/connector-kit/schema"
	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/hub/internal/owners"
	"github.com/jobtech-dev/datahub/hub/internal/registry"
	"github.com/jobtech-dev/datahub/hub/internal/seen"
)

// Options tune the service. The zero value works.
type Options struct {
	// Origin is the hub name stamped into every record.
	Origin string
	// Limits bound each record.
	Limits schema.Limits
	// Workers validate records in parallel; default GOMAXPROCS.
	Workers int
	// Window bounds the JetStream publishes in flight; default 4096.
	Window int
	// AckTimeout bounds the wait for JetStream to acknowledge a write;
	// default 30s. A record not acknowledged in time is answered
	// "unavailable" (retry: its id makes the retry safe).
	AckTimeout time.Duration
	// Owners decides who may write a key of a dataset whose keys are
	// shared (key_scope: dataset); without it such records are refused as
	// unavailable.
	Owners *owners.Store
	// OnStored, keyed by dataset, is told of each record of that dataset
	// this hub stores, once JetStream has acknowledged it and before its
	// publisher is answered (the taxonomy index takes a concept this way,
	// so that the publisher's next record is checked against it). It runs
	// on the one goroutine that answers publishers: it must be quick.
	OnStored map[string]func(wire.Envelope)
	// Seen remembers the federated records stored, beyond the dedupe
	// window; without it federated records are refused as unavailable.
	Seen   *seen.Set
	Logger *slog.Logger
	// Subject is what the validators subscribe to, in the queue group
	// wire.IngestQueue; default wire.IngestWildcard. A hub node gives its
	// own ingest subject (natsd.Server.IngestSubject), which its server maps
	// its clients' records to, so a record is validated where it arrived.
	Subject string
	// Ordered stores each publisher's records of a dataset one after the
	// other, each only after the one before it is stored (see chain.go).
	// A cluster node sets it; a single hub pipelines instead. Those records
	// leave the ring's storer for the chains (dead letters stay on it).
	Ordered bool
	// Observer, if set, is told each record's outcome and how long it took
	// from arrival to its answer (for metrics).
	Observer Observer
}

// Observer is told the outcome of every record the service answers: its
// dataset ("" when the subject named none), its status, for a refusal the
// keyword of its first violation, and the time from arrival to answer. It
// must not block.
type Observer interface {
	ObserveRecord(dataset string, status wire.Status, reason string, took time.Duration)
}

// Counts are running totals since start, for metrics and tests.
type Counts struct {
	Stored, Duplicates, Conflicts, Rejected, Unavailable uint64
	// ByReference counts the records the reference validator judged: those
	// the one-pass validator refused (the reference writes the report),
	// and every record of a dataset whose schema it does not implement.
	ByReference uint64
	// Warned counts the records checked valid with warnings (a deprecated
	// taxonomy concept in a dataset that warns); they are among the others.
	Warned uint64
}

// Service validates and stores published records.
//
// The pipeline: the subscription takes records in arrival order and gives
// each a place in line (a ring of pending records); workers, one per core,
// check records in parallel; whichever worker finishes the record at the
// head of the line stores it and every checked record after it, so records
// reach JetStream in arrival order (one publisher's records are stored in
// the order it sent them) without a goroutine per stage; JetStream's acks
// answer the publishers as they arrive (see storer).
type Service struct {
	nc   *nats.Conn
	js   jetstream.JetStream
	reg  *registry.Registry
	opts Options
	log  *slog.Logger

	sub      *nats.Subscription
	st       *storer
	work     chan *job
	workers  sync.WaitGroup
	wg       sync.WaitGroup // duplicate checks
	stopOnce sync.Once
	stopErr  error

	line lineup

	stored, dups, conflicts, rejected, unavailable, byReference atomic.Uint64
	warned                                                      atomic.Uint64
	streams                                                     sync.Map // stream name → jetstream.Stream, for duplicate checks
	verifying                                                   chan struct{}
	marking                                                     chan struct{}
	warnLog                                                     warnLimiter
	hookMu                                                      sync.Mutex // OnStored hooks run one at a time
	replyBufs                                                   sync.Pool  // the buffers answers are written into (the connection copies what it sends)

	// localRecords and localWait count the publishers' records answered
	// and their summed time from arrival to answer (LocalLoad).
	localRecords atomic.Uint64
	localWait    atomic.Int64

	chains *chains // Options.Ordered: one record in flight per publisher and dataset

	// life bounds the calls a record makes after its arrival (duplicate
	// checks, key claims, seen markers): Stop ends it once the records
	// taken are answered or its own wait is over, so none outlives Stop.
	life    context.Context
	endLife context.CancelFunc
	// submitMu keeps SubmitFederated from sending into a closed pipeline.
	submitMu sync.RWMutex
	closed   bool
}

// New returns a service that receives on nc and stores through js. Give js
// its own connection so acks and requests do not queue behind each other.
func New(nc *nats.Conn, js jetstream.JetStream, reg *registry.Registry, o Options) *Service {
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	if o.Window <= 0 {
		o.Window = 4096
	}
	if o.AckTimeout <= 0 {
		o.AckTimeout = 30 * time.Second
	}
	if o.Origin == "" {
		o.Origin = "hub"
	}
	if o.Subject == "" {
		o.Subject = wire.IngestWildcard
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Service{nc: nc, js: js, reg: reg, opts: o, log: log.With("component", "ingest"),
		verifying: make(chan struct{}, maxVerifying), marking: make(chan struct{}, maxVerifying)}
	s.life, s.endLife = context.WithCancel(context.Background())
	if o.Ordered {
		s.chains = newChains(s.publish)
	}
	return s
}

// maxVerifying bounds the duplicate checks in flight; past it the acks
// wait, so a flood of duplicates slows its sender, not the hub's memory.
const maxVerifying = 256

// claimTimeout bounds the claim of a new key in a dataset with owned keys.
const claimTimeout = 5 * time.Second

// Start subscribes to every ingest subject and starts the pipeline.
func (s *Service) Start(ctx context.Context) error {
	st, err := newStorer(s.js.Conn(), s.opts.Window, s.opts.AckTimeout, s.acked)
	if err != nil {
		return err
	}
	s.st = st
	s.line.init(s.opts.Window + s.opts.Workers*64)
	s.work = make(chan *job, s.opts.Window)
	for i := 0; i < s.opts.Workers; i++ {
		s.workers.Add(1)
		go func() { defer s.workers.Done(); s.worker() }()
	}
	sub, err := s.nc.QueueSubscribe(s.opts.Subject, wire.IngestQueue, s.take)
	if err != nil {
		s.closePipeline()
		s.st.close()
		return fmt.Errorf("subscribe %s: %w", s.opts.Subject, err)
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
		return fmt.Errorf("subscribe %s: %w", s.opts.Subject, err)
	}
	return nil
}

// take receives one ingest request: a record, or a batch of records, each
// put in line and handed to the workers.
func (s *Service) take(m *nats.Msg) {
	at := time.Now()
	if n := m.Header.Get(wire.HeaderBatch); n != "" {
		s.takeBatch(m, n, at)
		return
	}
	j := &job{msg: m, data: m.Data, id: m.Header.Get(wire.RequestRecordID), idGiven: m.Header.Get(wire.RequestRecordID) != "", at: at}
	s.line.admit(j)
	s.work <- j
}

// takeBatch puts each record of a batch request in line.
func (s *Service) takeBatch(m *nats.Msg, count string, at time.Time) {
	n, err := strconv.Atoi(count)
	if err != nil {
		n = -1
	}
	b := &batch{msg: m}
	if n > 0 && n <= wire.MaxBatchRecords {
		b.jobs = make([]job, 0, n) // ReadBatch checks the count before it calls back
	}
	err = wire.ReadBatch(m.Data, n, func(id string, data []byte) {
		b.jobs = append(b.jobs, job{msg: m, data: data, id: id, idGiven: id != "", batch: b, index: len(b.jobs), at: at})
	})
	if err != nil {
		s.answerBadBatch(m, err)
		return
	}
	b.replies = make([]wire.Reply, len(b.jobs))
	b.left.Store(int32(len(b.jobs)))
	for i := range b.jobs {
		s.line.admit(&b.jobs[i])
		s.work <- &b.jobs[i]
	}
}

func (s *Service) worker() {
	for j := range s.work {
		if j.fed != nil {
			s.checkFederated(j)
		} else {
			s.check(j)
		}
		s.line.checked(j, s.store)
	}
}

// closePipeline lets the workers finish what they hold and waits for them.
func (s *Service) closePipeline() {
	s.submitMu.Lock()
	s.closed = true
	s.submitMu.Unlock()
	close(s.work)
	s.workers.Wait()
}

// Stop stops taking records, finishes those already taken (each gets its
// answer) and returns when all are done or ctx ends.
func (s *Service) Stop(ctx context.Context) error {
	if s.sub == nil {
		s.endLife()
		return nil
	}
	s.stopOnce.Do(func() {
		s.stopErr = s.stop(ctx)
		s.endLife()
	})
	return s.stopErr
}

// stopAckWait bounds how long a stop waits for JetStream's last acks.
const stopAckWait = 5 * time.Second

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
	go func() {
		s.closePipeline()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		return fmt.Errorf("stop ingest: %w", ctx.Err())
	}
	defer s.st.close()
	// Acks normally come within milliseconds; the ones lost with a
	// JetStream reload would each wait out AckTimeout. A stop waits a
	// bounded while: a record left unanswered is sent again by its
	// publisher under its id, and stored once.
	dctx, cancel := context.WithTimeout(ctx, stopAckWait)
	err := s.st.drain(dctx)
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("stop ingest: waiting for JetStream's acks: %w", err)
		}
		s.log.Warn("stop ingest: writes still unacknowledged; their publishers get no answer and send them again", "waited", stopAckWait)
	}
	verified := make(chan struct{})
	go func() { s.wg.Wait(); close(verified) }()
	select {
	case <-verified:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("stop ingest: %w", ctx.Err())
	}
}

// Counts reports running totals.
func (s *Service) Counts() Counts {
	return Counts{Stored: s.stored.Load(), Duplicates: s.dups.Load(), Conflicts: s.conflicts.Load(), Rejected: s.rejected.Load(),
		Unavailable: s.unavailable.Load(), ByReference: s.byReference.Load(), Warned: s.warned.Load()}
}

// LocalLoad reports how busy this node's ingest is with its own
// publishers, as running totals since start: the records of publishers
// answered (federated records are not counted), and their summed time from
// arrival to answer. Federation links read it to yield to local publishers.
func (s *Service) LocalLoad() (records uint64, wait time.Duration) {
	return s.localRecords.Load(), time.Duration(s.localWait.Load())
}

// store starts the JetStream write of a checked record (or its dead
// letter), or answers at once when there is nothing to write. It runs in
// arrival order (see lineup).
func (s *Service) store(j *job) {
	if j.out == nil {
		s.answer(j)
		return
	}
	// A federated record (msg a stand-in) comes from a link that keeps its
	// order; dead letters have no order to keep.
	if s.chains != nil && !j.rejected && j.fed == nil {
		s.storeChained(j)
		return
	}
	if err := s.st.publish(j, j.out); err != nil {
		s.acked(j, pubAck{err: err})
	}
}

// storeChained stores j through its publisher's chain (Options.Ordered):
// published once the record before it of the same publisher and dataset
// is stored. These records do not use the storer: the chain's future is
// awaited on a goroutine of its own, which hands its outcome to acked.
func (s *Service) storeChained(j *job) {
	fut := s.chains.send(j.msg.Subject, j.out, j.id, j.idGiven)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		select {
		case ack := <-fut.Ok():
			s.acked(j, pubAck{stream: ack.Stream, seq: ack.Sequence, duplicate: ack.Duplicate})
		case err := <-fut.Err():
			s.acked(j, pubAck{err: err})
		}
	}()
}

// publish starts an asynchronous publish through the jetstream package
// (for the chains and the seen markers), waiting out a full window rather
// than failing the record.
func (s *Service) publish(m *nats.Msg) (jetstream.PubAckFuture, error) {
	for attempt := 0; ; attempt++ {
		fut, err := s.js.PublishMsgAsync(m)
		if err == nil || !errors.Is(err, jetstream.ErrTooManyStalledMsgs) || attempt >= 50 {
			return fut, err
		}
		<-s.js.PublishAsyncComplete()
	}
}

// acked is JetStream's answer for j's write: the publisher is answered now,
// or, for a duplicate, once its stored twin was compared (verifyDuplicate).
func (s *Service) acked(j *job, ack pubAck) {
	switch {
	case ack.err != nil && j.rejected:
		s.log.Error("store dead letter", "dataset", j.reply.Dataset, "err", ack.err)
		j.reply.Error += "; keeping it in the dead-letter stream failed: " + ack.err.Error()
	case ack.err != nil:
		s.log.Error("store record", "dataset", j.reply.Dataset, "err", ack.err)
		j.reply = wire.Reply{Status: wire.StatusUnavailable, Code: wire.CodeUnavailable, Dataset: j.reply.Dataset, Error: "not stored, retry: " + ack.err.Error()}
	case !j.rejected:
		j.reply.Seq = ack.seq
		if !ack.duplicate {
			s.onStored(j)
		}
		if ack.duplicate {
			s.verifying <- struct{}{}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer func() { <-s.verifying }()
				s.verifyDuplicate(j, ack.stream)
				s.markDuplicate(j)
				s.answer(j)
			}()
			return
		}
		if j.fed != nil {
			// Answered once it is marked as seen.
			s.marking <- struct{}{}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer func() { <-s.marking }()
				s.markStored(j)
				s.answer(j)
			}()
			return
		}
	}
	s.answer(j)
}

// onStored tells the dataset's OnStored hook of j, just stored.
func (s *Service) onStored(j *job) {
	hook := s.opts.OnStored[j.reply.Dataset]
	if hook == nil {
		return
	}
	e, err := wire.EnvelopeFromMsg(j.out.Header, j.out.Data, j.reply.Seq, time.Now())
	if err != nil {
		return
	}
	// Acks arrive on the storer's goroutine, and on the chains' in a
	// cluster: the hooks still see one record at a time.
	s.hookMu.Lock()
	defer s.hookMu.Unlock()
	hook(e)
}
