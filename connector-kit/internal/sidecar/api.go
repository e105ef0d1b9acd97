package sidecar

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"math"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jobtech-dev/datahub/internal/problem"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/jobtech-dev/datahub/connector-kit/jobstream"
	"github.com/jobtech-dev/datahub/connector-kit/kit"
	"github.com/jobtech-dev/datahub/connector-kit/wire"
)

func (s *Sidecar) routes() http.Handler {
	mux := http.NewServeMux()
	h := func(fn problem.HandlerFunc) http.HandlerFunc { return problem.Handle(s.log, fn) }
	mux.HandleFunc("POST /v1/datasets/{dataset}/records", h(s.postRecords))
	mux.HandleFunc("GET /v1/datasets/{dataset}/records", h(s.getRecords))
	mux.HandleFunc("GET /v1/datasets/{dataset}/snapshot", h(s.getSnapshot))
	mux.HandleFunc("GET /v1/rejected", h(s.getRejected))
	mux.HandleFunc("GET /stream", h(s.jobStream))
	mux.HandleFunc("GET /snapshot", h(s.jobSnapshot))
	mux.HandleFunc("GET /v2/stream", h(s.jobStream))
	mux.HandleFunc("GET /v2/snapshot", h(s.jobSnapshot))
	mux.HandleFunc("GET /healthz", h(s.healthz))
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.m.reg, promhttp.HandlerOpts{}))
	return s.guard(problem.Mux(mux))
}

// datasetFromPath returns the {dataset} of the request's path, refused
// (404, at once) when it cannot name a dataset: a name from a URL never
// reaches a NATS subject unchecked.
func datasetFromPath(r *http.Request) (string, error) {
	d := r.PathValue("dataset")
	if !wire.ValidName(d) {
		shown := d
		if len(shown) > 80 {
			shown = shown[:80] + "…"
		}
		return "", problem.Newf(wire.CodeUnknownDataset, "%q is not a dataset name ([a-z][a-z0-9-]{0,62})", shown)
	}
	return d, nil
}

// knownDataset answers whether the hub has dataset; when the hub cannot be
// asked (it is away) it assumes so, and the forwarder reports later.
func (s *Sidecar) knownDataset(ctx context.Context, dataset string) bool {
	s.catMu.Lock()
	names, at := s.catalog, s.catalogAt
	s.catMu.Unlock()
	if (names == nil || time.Since(at) > time.Minute) && s.c.State().Connected {
		ctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		if fresh, err := s.c.Datasets(ctx); err == nil {
			names = fresh
			s.catMu.Lock()
			s.catalog, s.catalogAt = fresh, time.Now()
			s.catMu.Unlock()
		}
	}
	if names == nil {
		return wire.ValidName(dataset)
	}
	for _, n := range names {
		if n == dataset {
			return true
		}
	}
	return false
}

// quick bounds a lookup a POST makes at the hub: a second when the hub is
// connected, nothing (cache only) when it is away, so records queue at once.
func (s *Sidecar) quick(ctx context.Context) context.Context {
	if !s.c.State().Connected {
		ctx, cancel := context.WithCancel(ctx)
		cancel()
		return ctx
	}
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	_ = cancel // released when the request ends; the timer is short
	return ctx
}

// readPosition parses ?since= and ?after=.
func readPosition(r *http.Request) ([]kit.SubscribeOption, error) {
	q := r.URL.Query()
	var opts []kit.SubscribeOption
	if v := q.Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return nil, problem.New(wire.CodeBadRequest, fmt.Sprintf("since=%q: want an RFC 3339 time like 2026-01-02T15:04:05Z", v))
		}
		opts = append(opts, kit.StartAt(t))
	}
	if v := q.Get("after"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil || n == math.MaxUint64 {
			return nil, problem.New(wire.CodeBadRequest, fmt.Sprintf("after=%q: want a sequence number from 0 to %d", v, uint64(math.MaxUint64-1)))
		}
		if len(opts) > 0 {
			return nil, problem.New(wire.CodeBadRequest, "give since or after, not both")
		}
		opts = append(opts, kit.StartAfter(n))
	}
	return opts, nil
}

// stream runs a subscription into w until the client leaves or, without
// follow, until the stored records are written.
func (s *Sidecar) stream(w http.ResponseWriter, r *http.Request, dataset string, follow bool, skipTombstones bool, ready func(), write func(wire.Envelope) error, opts ...kit.SubscribeOption) error {
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	done := make(chan struct{})
	var doneOnce bool
	sub, err := s.c.Subscribe(ctx, dataset, func(_ context.Context, d kit.Delivery) error {
		if ctx.Err() != nil {
			return ctx.Err() // delivered again to nobody: this consumer ends with the request
		}
		if !(skipTombstones && d.Tombstone) {
			if err := write(d.Envelope); err != nil {
				cancel()
				return err
			}
		}
		if !follow && d.Pending == 0 && !doneOnce {
			doneOnce = true
			close(done)
		}
		return nil
	}, append(opts, kit.MaxAckPending(256))...)
	if err != nil {
		return subscribeErr(dataset, err)
	}
	defer sub.Stop()
	if ready != nil {
		ready()
	}
	if !follow && sub.InitialPending() == 0 {
		return nil
	}
	select {
	case <-ctx.Done():
	case <-done:
	}
	return nil
}

func (s *Sidecar) getRecords(w http.ResponseWriter, r *http.Request) error {
	dataset, err := datasetFromPath(r)
	if err != nil {
		return err
	}
	opts, err := readPosition(r)
	if err != nil {
		return err
	}
	follow := true
	if v := r.URL.Query().Get("follow"); v != "" {
		if follow, err = strconv.ParseBool(v); err != nil {
			return problem.Newf(wire.CodeBadRequest, "follow=%q: want true or false", v)
		}
	}
	sse := strings.Contains(r.Header.Get("Accept"), "text/event-stream")
	fl, _ := w.(http.Flusher)
	started := false
	begin := func() {
		if started {
			return
		}
		started = true
		if sse {
			w.Header().Set("Content-Type", "text/event-stream")
			w.Header().Set("Cache-Control", "no-cache")
		} else {
			w.Header().Set("Content-Type", "application/x-ndjson")
		}
		w.WriteHeader(http.StatusOK)
		if fl != nil {
			fl.Flush()
		}
	}
	var mu sync.Mutex // the handler and ready may run on different goroutines
	ready := func() {
		if follow {
			mu.Lock()
			begin() // a follower learns at once that the stream is open
			mu.Unlock()
		}
	}
	err = s.stream(w, r, dataset, follow, false, ready, func(e wire.Envelope) error {
		mu.Lock()
		defer mu.Unlock()
		begin()
		b, err := json.Marshal(e)
		if err != nil {
			return err
		}
		if sse {
			_, err = fmt.Fprintf(w, "id: %d\nevent: record\ndata: %s\n\n", e.Seq, b)
		} else {
			_, err = w.Write(append(b, '\n'))
		}
		if fl != nil {
			fl.Flush()
		}
		return err
	}, opts...)
	mu.Lock()
	defer mu.Unlock()
	if err != nil && !started {
		return err
	}
	begin()
	return nil
}

func (s *Sidecar) getSnapshot(w http.ResponseWriter, r *http.Request) error {
	dataset, err := datasetFromPath(r)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	started := false
	err = s.stream(w, r, dataset, false, true, nil, func(e wire.Envelope) error {
		if !started {
			started = true
			w.Header().Set("Content-Type", "application/x-ndjson")
			w.WriteHeader(http.StatusOK)
		}
		b, err := json.Marshal(e)
		if err != nil {
			return err
		}
		_, err = bw.Write(append(b, '\n'))
		return err
	}, kit.FromSnapshot())
	if err != nil && !started {
		return err
	}
	if !started {
		w.Header().Set("Content-Type", "application/x-ndjson")
		w.WriteHeader(http.StatusOK)
	}
	return bw.Flush()
}

func (s *Sidecar) getRejected(w http.ResponseWriter, r *http.Request) error {
	f, err := os.Open(s.fw.rejects)
	if errors.Is(err, os.ErrNotExist) {
		w.Header().Set("Content-Type", "application/x-ndjson")
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	w.Header().Set("Content-Type", "application/x-ndjson")
	_, err = io.Copy(w, f)
	return err
}

// jobStream answers GET /stream?date=…[&updated-before-date=…] and GET
// /v2/stream?updated-after=…[&updated-before=…] in JobTech JobStream's own
// format: a JSON array with one entry per ad changed in the window, its
// latest state or its removal.
func (s *Sidecar) jobStream(w http.ResponseWriter, r *http.Request) error {
	parse := jobstream.ParseStreamQuery
	if strings.HasPrefix(r.URL.Path, "/v2/") {
		parse = jobstream.ParseStreamQueryV2
	}
	q, err := parse(r.URL.Query())
	if err != nil {
		return problem.New(wire.CodeBadRequest, err.Error())
	}
	envs, err := s.replayable(r.Context(), s.cfg.JobStreamDataset, kit.StartAt(q.Since))
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	if _, err := jobstream.WriteStream(r.Context(), w, q, envs, jobstream.WithAdIDs(s.adIDs(r.Context()))); err != nil {
		s.log.Warn("jobstream answer cut short", "err", err)
	}
	return nil
}

// jobSnapshot answers GET /snapshot and /v2/snapshot: every current ad,
// JobStream format, kept to the occupation and location concept filters
// given.
func (s *Sidecar) jobSnapshot(w http.ResponseWriter, r *http.Request) error {
	envs, stop, err := s.envelopes(r.Context(), s.cfg.JobStreamDataset, kit.FromSnapshot())
	if err != nil {
		return err
	}
	defer stop()
	w.Header().Set("Content-Type", "application/json")
	if _, err := jobstream.WriteSnapshot(r.Context(), w, envs, jobstream.WithAdIDs(s.adIDs(r.Context())),
		jobstream.WithFilter(jobstream.ParseSnapshotQuery(r.URL.Query()))); err != nil {
		s.log.Warn("jobstream snapshot cut short", "err", err)
	}
	return nil
}

// replayable reads the records stored from opt's start afresh at each
// range (jobstream.WriteStream reads its window twice). The first read is
// opened at once, so a refused subscription is an error before anything is
// written.
func (s *Sidecar) replayable(ctx context.Context, dataset string, opt kit.SubscribeOption) (iter.Seq2[wire.Envelope, error], error) {
	first, stop, err := s.envelopes(ctx, dataset, opt)
	if err != nil {
		return nil, err
	}
	var mu sync.Mutex
	ranged := false
	return func(yield func(wire.Envelope, error) bool) {
		mu.Lock()
		envs, done := first, stop
		if ranged {
			var err error
			if envs, done, err = s.envelopes(ctx, dataset, opt); err != nil {
				mu.Unlock()
				yield(wire.Envelope{}, err)
				return
			}
		}
		ranged = true
		mu.Unlock()
		defer done()
		for e, err := range envs {
			if !yield(e, err) {
				return
			}
		}
	}, nil
}

// adIDs says which id each JobStream ad carries: its own, unless the
// dataset's keys are scoped by publisher and the ad is not the dataset
// owner's (see jobstream.AdIDs). Not knowing the dataset, every publisher's
// ids get their prefix: unique, if not as JobStream has them.
func (s *Sidecar) adIDs(ctx context.Context) jobstream.AdIDs {
	info, err := s.c.Dataset(s.quick(ctx), s.cfg.JobStreamDataset)
	if err != nil {
		s.log.Warn("jobstream: dataset unknown, every ad id gets its publisher as prefix", "dataset", s.cfg.JobStreamDataset, "err", err)
		return jobstream.AdIDs{PerPublisher: true}
	}
	return jobstream.For(info.KeyScope, info.Owner)
}

// envelopes reads the records stored at the start position as an iterator
// that ends once the subscription has caught up.
func (s *Sidecar) envelopes(ctx context.Context, dataset string, opt kit.SubscribeOption) (iter.Seq2[wire.Envelope, error], func(), error) {
	ctx, cancel := context.WithCancel(ctx)
	ch := make(chan wire.Envelope, 256)
	var once sync.Once
	finish := func() { once.Do(func() { close(ch) }) }
	var finished atomic.Bool
	sub, err := s.c.Subscribe(ctx, dataset, func(hctx context.Context, d kit.Delivery) error {
		if finished.Load() {
			return nil
		}
		select {
		case ch <- d.Envelope:
		case <-ctx.Done():
			return ctx.Err()
		}
		if d.Pending == 0 {
			finished.Store(true)
			finish()
		}
		return nil
	}, opt, kit.MaxAckPending(256))
	if err != nil {
		cancel()
		return nil, nil, subscribeErr(dataset, err)
	}
	if sub.InitialPending() == 0 {
		finished.Store(true)
		finish()
	}
	stop := func() {
		cancel()
		_ = sub.Stop()
	}
	seq := func(yield func(wire.Envelope, error) bool) {
		for {
			select {
			case e, ok := <-ch:
				if !ok {
					return
				}
				if !yield(e, nil) {
					return
				}
			case <-ctx.Done():
				yield(wire.Envelope{}, ctx.Err())
				return
			}
		}
	}
	return seq, stop, nil
}
