package sidecar

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/jobtech-dev/datahub/connector-kit/internal/outbox"
	"github.com/jobtech-dev/datahub/connector-kit/kit"
	"github.com/jobtech-dev/datahub/connector-kit/wire"
)

// outcome is what became of a record from the outbox.
type outcome struct {
	Status     wire.Status      `json:"status"`
	Code       wire.Code        `json:"code,omitempty"`
	Seq        uint64           `json:"seq,omitempty"`
	Error      string           `json:"error,omitempty"`
	Violations []wire.Violation `json:"violations,omitempty"`
}

// forwarder sends the outbox to the hub in order and tells waiting POSTs
// what happened.
type forwarder struct {
	ob      *outbox.Outbox
	c       *kit.Client
	log     *slog.Logger
	m       *metrics
	rejects string  // dead-letter file of records the hub refused
	rights  *rights // what the hub's refusals taught about publish rights
	every   time.Duration

	mu      sync.Mutex
	waiters map[string][]chan outcome // by record id: a retried id may wait twice
	fmu     sync.Mutex                // serialises writes to rejects

	hmu      sync.Mutex
	head     queueHead // the oldest record not yet forwarded, while it is tried
	readErr  error     // the outbox could not be read (damage found after start)
	lastHead time.Time // when a stuck head or a read error was last logged
}

// queueHead is the record at the head of the outbox while the forwarder
// tries it; it is stuck when it has been tried for long, on a live
// connection, without an answer that lets it go.
type queueHead struct {
	Seq      uint64    `json:"seq"`
	ID       string    `json:"id"`
	Dataset  string    `json:"dataset"`
	Attempts int       `json:"attempts"`
	Since    time.Time `json:"since"`
	Error    string    `json:"error,omitempty"`
	gen      uint64    // the connection generation it was tried on
}

func (f *forwarder) wait(id string) chan outcome {
	ch := make(chan outcome, 1)
	f.mu.Lock()
	f.waiters[id] = append(f.waiters[id], ch)
	f.mu.Unlock()
	return ch
}

// forget stops waiting on ch for id (the POST answered "queued"). An
// outcome told before forget is in ch already: the caller reads ch once
// more, without blocking, so no outcome falls between the two.
func (f *forwarder) forget(id string, ch chan outcome) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ws := f.waiters[id]
	for i, w := range ws {
		if w == ch {
			ws = append(ws[:i], ws[i+1:]...)
			break
		}
	}
	if len(ws) == 0 {
		delete(f.waiters, id)
	} else {
		f.waiters[id] = ws
	}
}

// tell gives the outcome of id to the first POST waiting for it, and
// reports whether one was: then that client learns the outcome from its
// answer. The send happens under the lock, so it cannot cross a forget.
func (f *forwarder) tell(id string, o outcome) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	ws := f.waiters[id]
	if len(ws) == 0 {
		return false
	}
	ch := ws[0]
	if ws = ws[1:]; len(ws) == 0 {
		delete(f.waiters, id)
	} else {
		f.waiters[id] = ws
	}
	ch <- o // buffered, one outcome per channel
	return true
}

// batchMax is how many outbox records one forward sends at once (pipelined).
const batchMax = 1024

// run forwards until ctx ends.
func (f *forwarder) run(ctx context.Context) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		first, err := f.ob.Next(ctx)
		if err != nil {
			if ctx.Err() == nil {
				f.readFailed(err)
				sleep(ctx, time.Second)
			}
			continue
		}
		f.readOK()
		items := []outbox.Item{first}
		for len(items) < batchMax {
			more, ok, err := f.tryNext()
			if err != nil || !ok {
				break
			}
			items = append(items, more)
		}
		if f.forward(ctx, items) {
			backoff = 100 * time.Millisecond
			continue
		}
		// The hub is away: start again from the first record not stored,
		// in order, after a pause.
		f.ob.Rewind()
		sleep(ctx, backoff)
		if backoff < 5*time.Second {
			backoff *= 2
		}
	}
}

// readFailed keeps and logs (at most every f.every) why the outbox could
// not be read: damage found after start needs the repair command.
func (f *forwarder) readFailed(err error) {
	f.hmu.Lock()
	defer f.hmu.Unlock()
	f.readErr = err
	if time.Since(f.lastHead) < f.every {
		return
	}
	f.lastHead = time.Now()
	if errors.Is(err, outbox.ErrCorrupt) {
		f.log.Error("outbox damaged: forwarding stopped; stop the connector and run `connector outbox check`, then `connector outbox repair`", "err", err)
		return
	}
	f.log.Error("read outbox", "err", err)
}

func (f *forwarder) readOK() {
	f.hmu.Lock()
	f.readErr = nil
	f.hmu.Unlock()
}

// attempt notes that it, the head of the outbox, is being sent.
func (f *forwarder) attempt(it outbox.Item, gen uint64) {
	f.hmu.Lock()
	defer f.hmu.Unlock()
	if f.head.Seq != it.Seq || f.head.gen != gen {
		f.head = queueHead{Seq: it.Seq, ID: it.ID, Dataset: it.Dataset, Since: time.Now(), gen: gen}
	}
	f.head.Attempts++
}

// failed notes that it could not be forwarded this time and will be tried
// again; it is the head of the outbox now.
func (f *forwarder) failed(it outbox.Item, gen uint64, err string) {
	f.hmu.Lock()
	defer f.hmu.Unlock()
	if f.head.Seq != it.Seq || f.head.gen != gen {
		f.head = queueHead{Seq: it.Seq, ID: it.ID, Dataset: it.Dataset, Since: time.Now(), Attempts: 1, gen: gen}
	}
	f.head.Error = err
}

// done notes that seq left the outbox.
func (f *forwarder) done(seq uint64) {
	f.hmu.Lock()
	if f.head.Seq == seq {
		f.head = queueHead{}
	}
	f.hmu.Unlock()
}

// stuck returns the head of the outbox when it has been tried for longer
// than after on the connection of generation gen, and logs it (at most
// every f.every).
func (f *forwarder) stuck(gen uint64, after time.Duration) (queueHead, bool) {
	f.hmu.Lock()
	defer f.hmu.Unlock()
	h := f.head
	if h.Seq == 0 || h.gen != gen || time.Since(h.Since) < after {
		return queueHead{}, false
	}
	if time.Since(f.lastHead) >= f.every {
		f.lastHead = time.Now()
		f.log.Error("outbox head stuck: the hub has not taken this record; every later record waits behind it",
			"dataset", h.Dataset, "id", h.ID, "attempts", h.Attempts, "for", time.Since(h.Since).Round(time.Second), "err", h.Error)
	}
	return h, true
}

// damaged returns the error that stopped reading the outbox, if any.
func (f *forwarder) damaged() error {
	f.hmu.Lock()
	defer f.hmu.Unlock()
	return f.readErr
}

// tryNext takes the next outbox record if one is ready now, without
// waiting: Next hands out a ready record before it looks at its context.
func (f *forwarder) tryNext() (outbox.Item, bool, error) {
	it, err := f.ob.Next(doneCtx)
	if errors.Is(err, context.Canceled) {
		return it, false, nil
	}
	return it, err == nil, err
}

// doneCtx is an already-cancelled context.
var doneCtx = func() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}()

// forward sends items grouped by dataset, in order; it reports false when the
// hub could not be reached (nothing after the first failure is acked).
func (f *forwarder) forward(ctx context.Context, items []outbox.Item) bool {
	gen := f.c.State().Generation
	f.attempt(items[0], gen)
	for start := 0; start < len(items); {
		end := start + 1
		for end < len(items) && items[end].Dataset == items[start].Dataset {
			end++
		}
		group := items[start:end]
		// A record over the hub's limit can never be stored: it is refused
		// here instead of being sent, and tried, forever.
		limit := f.c.HubMaxRecordBytes()
		sent := make([]int, len(group)) // index in recs, or -1
		var recs []kit.BatchRecord
		for i, it := range group {
			if limit > 0 && len(it.Data) > limit {
				sent[i] = -1
				continue
			}
			sent[i] = len(recs)
			recs = append(recs, kit.BatchRecord{ID: it.ID, Data: it.Data})
		}
		var res []kit.Result
		if len(recs) > 0 {
			var err error
			if res, err = f.c.PublishBatch(ctx, group[0].Dataset, recs); err != nil {
				f.failed(group[0], gen, err.Error())
				return false
			}
		}
		for i, it := range group {
			var o outcome
			if sent[i] < 0 {
				o = outcome{Status: wire.StatusTooLarge, Code: wire.CodeTooLarge,
					Error: fmt.Sprintf("record of %d bytes is over the hub's limit of %d bytes", len(it.Data), limit)}
			} else {
				var retry bool
				if o, retry = classify(res[sent[i]]); retry {
					f.m.forwarded.WithLabelValues("retry").Inc()
					f.failed(it, gen, res[sent[i]].Err.Error())
					return false
				}
			}
			if o.Status == wire.StatusForbidden {
				f.rights.learn(it.Dataset, gen, o.Error)
			}
			told := f.tell(it.ID, o)
			if !o.Status.OK() && !told {
				f.report(it, o) // the client was answered "queued": keep it
			}
			if err := f.ob.Ack(it.Seq); err != nil {
				f.log.Error("ack outbox record", "seq", it.Seq, "err", err)
			}
			f.done(it.Seq)
			f.m.forwarded.WithLabelValues(string(o.Status)).Inc()
		}
		start = end
	}
	return true
}

// classify maps a publish result to an outcome, or asks for a retry: a
// record the hub refused for good is reported and dropped from the outbox,
// anything the hub may accept later is sent again.
func classify(r kit.Result) (outcome, bool) {
	var ve *kit.ValidationError
	switch {
	case r.Err == nil && r.Duplicate:
		return outcome{Status: wire.StatusDuplicate, Seq: r.Seq}, false
	case r.Err == nil:
		return outcome{Status: wire.StatusStored, Seq: r.Seq}, false
	case errors.As(r.Err, &ve):
		code := ve.Code
		if code == "" {
			code = wire.CodeInvalid
		}
		return outcome{Status: wire.StatusFor(code), Code: code, Error: r.Err.Error(), Violations: ve.Violations}, false
	case errors.Is(r.Err, kit.ErrForbidden):
		return outcome{Status: wire.StatusForbidden, Code: wire.CodeForbidden, Error: r.Err.Error()}, false
	case errors.Is(r.Err, kit.ErrUnknownDataset):
		return outcome{Status: wire.StatusUnknownDataset, Code: wire.CodeUnknownDataset, Error: r.Err.Error()}, false
	case errors.Is(r.Err, kit.ErrConflict):
		return outcome{Status: wire.StatusConflict, Code: wire.CodeConflict, Error: r.Err.Error()}, false
	case errors.Is(r.Err, kit.ErrTooLarge):
		return outcome{Status: wire.StatusTooLarge, Code: wire.CodeTooLarge, Error: r.Err.Error()}, false
	default:
		return outcome{}, true
	}
}

// rejected is one line of the sidecar's dead-letter file.
type rejected struct {
	Time    time.Time       `json:"time"`
	Dataset string          `json:"dataset"`
	ID      string          `json:"id"`
	Outcome outcome         `json:"outcome"`
	Data    json.RawMessage `json:"data"`
}

// report keeps a record the hub refused after its client was answered
// "queued": log, metrics and the dead-letter file (fsynced), which the API
// serves at /v1/rejected. A record whose refusal reached its client in the
// POST's answer is not kept: the client knows.
func (f *forwarder) report(it outbox.Item, o outcome) {
	f.log.Error("record refused by the hub", "dataset", it.Dataset, "id", it.ID, "status", o.Status, "error", o.Error)
	data := json.RawMessage(it.Data)
	if !json.Valid(data) {
		b, _ := json.Marshal(string(it.Data))
		data = b
	}
	line, _ := json.Marshal(rejected{Time: time.Now().UTC(), Dataset: it.Dataset, ID: it.ID, Outcome: o, Data: data})
	f.fmu.Lock()
	defer f.fmu.Unlock()
	if err := os.MkdirAll(filepath.Dir(f.rejects), 0o700); err != nil {
		f.log.Error("dead-letter file", "err", err)
		return
	}
	fh, err := os.OpenFile(f.rejects, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		f.log.Error("dead-letter file", "err", err)
		return
	}
	defer fh.Close()
	_, _ = fh.Write(append(line, '\n'))
	_ = fh.Sync()
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
