package sidecar

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/jobtech-dev/datahub/connector-kit/kit"
	"github.com/jobtech-dev/datahub/connector-kit/outbox"
	"github.com/jobtech-dev/datahub/connector-kit/wire"
)

// outcome is what became of a record from the outbox.
type outcome struct {
	Status     string           `json:"status"` // stored, duplicate, conflict, rejected, forbidden, unknown-dataset
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
	rejects string // dead-letter file of records the hub refused

	mu      sync.Mutex
	waiters map[string][]chan outcome // by record id: a retried id may wait twice
	fmu     sync.Mutex                // serialises writes to rejects
}

func (f *forwarder) wait(id string) chan outcome {
	ch := make(chan outcome, 1)
	f.mu.Lock()
	f.waiters[id] = append(f.waiters[id], ch)
	f.mu.Unlock()
	return ch
}

// forget stops waiting on ch for id (the POST answered "queued").
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

// tell gives the outcome of id to the first POST waiting for it.
func (f *forwarder) tell(id string, o outcome) {
	f.mu.Lock()
	ws := f.waiters[id]
	var ch chan outcome
	if len(ws) > 0 {
		ch, ws = ws[0], ws[1:]
		if len(ws) == 0 {
			delete(f.waiters, id)
		} else {
			f.waiters[id] = ws
		}
	}
	f.mu.Unlock()
	if ch != nil {
		ch <- o
	}
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
				f.log.Error("read outbox", "err", err)
				sleep(ctx, time.Second)
			}
			continue
		}
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
	for start := 0; start < len(items); {
		end := start + 1
		for end < len(items) && items[end].Dataset == items[start].Dataset {
			end++
		}
		group := items[start:end]
		recs := make([]kit.BatchRecord, len(group))
		for i, it := range group {
			recs[i] = kit.BatchRecord{ID: it.ID, Data: it.Data}
		}
		res, err := f.c.PublishBatch(ctx, group[0].Dataset, recs)
		if err != nil {
			return false
		}
		for i, r := range res {
			it := group[i]
			o, retry := classify(r)
			if retry {
				f.m.forwarded.WithLabelValues("retry").Inc()
				return false
			}
			if o.Status != "stored" && o.Status != "duplicate" {
				f.report(it, o)
			}
			if err := f.ob.Ack(it.Seq); err != nil {
				f.log.Error("ack outbox record", "seq", it.Seq, "err", err)
			}
			f.m.forwarded.WithLabelValues(o.Status).Inc()
			f.tell(it.ID, o)
		}
		start = end
	}
	return true
}

// classify maps a publish result to an outcome, or asks for a retry.
func classify(r kit.Result) (outcome, bool) {
	var ve *kit.ValidationError
	switch {
	case r.Err == nil && r.Duplicate:
		return outcome{Status: "duplicate", Seq: r.Seq}, false
	case r.Err == nil:
		return outcome{Status: "stored", Seq: r.Seq}, false
	case errors.Is(r.Err, kit.ErrConflict):
		return outcome{Status: "conflict", Seq: r.Seq, Error: r.Err.Error()}, false
	case errors.As(r.Err, &ve):
		return outcome{Status: "rejected", Error: r.Err.Error(), Violations: ve.Violations}, false
	case errors.Is(r.Err, kit.ErrForbidden):
		return outcome{Status: "forbidden", Error: r.Err.Error()}, false
	case errors.Is(r.Err, kit.ErrUnknownDataset):
		return outcome{Status: "unknown-dataset", Error: r.Err.Error()}, false
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

// report keeps a record the hub refused: log, metrics and the dead-letter
// file (fsynced), which the API serves at /v1/rejected.
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
