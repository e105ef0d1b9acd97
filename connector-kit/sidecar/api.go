package sidecar

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"mime"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/jobtech-dev/datahub/connector-kit/jobstream"
	"github.com/jobtech-dev/datahub/connector-kit/kit"
	"github.com/jobtech-dev/datahub/connector-kit/outbox"
	"github.com/jobtech-dev/datahub/connector-kit/schema"
	"github.com/jobtech-dev/datahub/connector-kit/wire"
)

func (s *Sidecar) routes() http.Handler {
	mux := http.NewServeMux()
	h := func(fn handlerFunc) http.HandlerFunc { return handle(s.log, fn) }
	mux.HandleFunc("POST /v1/datasets/{dataset}/records", h(s.postRecords))
	mux.HandleFunc("GET /v1/datasets/{dataset}/records", h(s.getRecords))
	mux.HandleFunc("GET /v1/datasets/{dataset}/snapshot", h(s.getSnapshot))
	mux.HandleFunc("GET /v1/rejected", h(s.getRejected))
	mux.HandleFunc("GET /stream", h(s.jobStream))
	mux.HandleFunc("GET /snapshot", h(s.jobSnapshot))
	mux.HandleFunc("GET /healthz", h(s.healthz))
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.m.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/", h(func(w http.ResponseWriter, r *http.Request) error {
		return problem(http.StatusNotFound, "no such endpoint: "+r.Method+" "+r.URL.Path)
	}))
	return mux
}

func (s *Sidecar) healthz(w http.ResponseWriter, r *http.Request) error {
	n, b := s.ob.Pending()
	status := "ok"
	if !s.c.Conn().IsConnected() {
		status = "hub-unreachable"
	}
	return writeJSON(w, http.StatusOK, map[string]any{"status": status, "actor": s.c.Actor(), "outbox_pending": n, "outbox_bytes": b})
}

// knownDataset answers whether the hub has dataset; when the hub cannot be
// asked (it is away) it assumes so, and the forwarder reports later.
func (s *Sidecar) knownDataset(ctx context.Context, dataset string) bool {
	s.catMu.Lock()
	names, at := s.catalog, s.catalogAt
	s.catMu.Unlock()
	if (names == nil || time.Since(at) > time.Minute) && s.c.Conn().IsConnected() {
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
	if !s.c.Conn().IsConnected() {
		ctx, cancel := context.WithCancel(ctx)
		cancel()
		return ctx
	}
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	_ = cancel // released when the request ends; the timer is short
	return ctx
}

// PostResult is the answer for one posted record.
type PostResult struct {
	Line       int              `json:"line,omitempty"`
	ID         string           `json:"id"`
	Status     string           `json:"status"` // stored, duplicate, queued, conflict, rejected, forbidden
	Seq        uint64           `json:"seq,omitempty"`
	Error      string           `json:"error,omitempty"`
	Violations []wire.Violation `json:"violations,omitempty"`
}

func (s *Sidecar) postRecords(w http.ResponseWriter, r *http.Request) error {
	start := time.Now()
	defer func() { s.m.latency.Observe(time.Since(start).Seconds()) }()
	dataset := r.PathValue("dataset")
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	batch := false
	switch ct {
	case "application/json", "":
	case "application/x-ndjson", "application/ndjson", "application/jsonl":
		batch = true
	default:
		return problem(http.StatusUnsupportedMediaType, fmt.Sprintf("content type %q: send application/json (one record) or application/x-ndjson (one per line)", ct))
	}
	if !s.knownDataset(r.Context(), dataset) {
		return problem(http.StatusNotFound, fmt.Sprintf("dataset %q is not on the hub", dataset))
	}
	limit := int64(s.cfg.MaxRecordBytes)
	if batch {
		limit = int64(s.cfg.MaxRecordBytes) * 16
		if limit < 64<<20 {
			limit = 64 << 20
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return problem(http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", limit))
		}
		return problem(http.StatusBadRequest, "read body: "+err.Error())
	}
	type line struct {
		n    int
		data []byte
	}
	var lines []line
	if batch {
		for i, l := range bytes.Split(body, []byte("\n")) {
			if l = bytes.TrimSpace(l); len(l) > 0 {
				lines = append(lines, line{i + 1, l})
			}
		}
		if len(lines) > s.cfg.MaxBatch {
			return problem(http.StatusRequestEntityTooLarge, fmt.Sprintf("batch of %d records: at most %d", len(lines), s.cfg.MaxBatch))
		}
	} else {
		lines = []line{{0, bytes.TrimSpace(body)}}
	}
	if len(lines) == 0 || len(lines[0].data) == 0 {
		return problem(http.StatusBadRequest, "no record in the body")
	}
	// Check every record before queueing any: a batch is accepted whole or
	// refused with the list of its bad lines.
	var bad []LineError
	schemaOK := true
	sch, _, serr := s.c.Schema(s.quick(r.Context()), dataset)
	if serr != nil {
		schemaOK = false
		if errors.Is(serr, kit.ErrForbidden) {
			s.log.Debug("no schema to check locally", "dataset", dataset, "err", serr)
		}
	}
	for _, l := range lines {
		if len(l.data) > s.cfg.MaxRecordBytes {
			if !batch {
				return problem(http.StatusRequestEntityTooLarge, fmt.Sprintf("record of %d bytes: at most %d", len(l.data), s.cfg.MaxRecordBytes))
			}
			bad = append(bad, LineError{Line: l.n, Error: fmt.Sprintf("record of %d bytes: at most %d", len(l.data), s.cfg.MaxRecordBytes)})
			continue
		}
		if schemaOK {
			if _, viol := sch.Check(l.data, s.limits); len(viol) > 0 {
				bad = append(bad, LineError{Line: l.n, Error: "does not match the dataset's schema", Violations: viol})
			}
		} else if !json.Valid(l.data) {
			bad = append(bad, LineError{Line: l.n, Error: "not valid JSON"})
		}
	}
	if len(bad) > 0 {
		s.m.posted.WithLabelValues("invalid").Add(float64(len(lines)))
		p := problem(http.StatusUnprocessableEntity, fmt.Sprintf("%d of %d records invalid; nothing was queued", len(bad), len(lines)))
		if batch {
			p.Lines = bad
		} else {
			p.Violations, p.Detail = bad[0].Violations, bad[0].Error
		}
		return p
	}
	idFrom := r.URL.Query().Get("id_from")
	results := make([]PostResult, len(lines))
	waits := make([]chan outcome, len(lines))
	for i, l := range lines {
		id := ""
		switch {
		case idFrom != "":
			var ok bool
			if id, ok = contentID(dataset, idFrom, l.data); !ok {
				return problem(http.StatusBadRequest, fmt.Sprintf("line %d: id_from=%q: the record has no string or number there", l.n, idFrom))
			}
		case !batch:
			id = r.Header.Get(wire.RequestRecordID)
		}
		if id == "" {
			u, _ := uuid.NewV7()
			id = u.String()
		} else if !wire.ValidRecordID(id) {
			return problem(http.StatusBadRequest, fmt.Sprintf("record id %q: 1 to %d printable characters without spaces", id, wire.MaxRecordIDLen))
		}
		results[i] = PostResult{Line: l.n, ID: id, Status: "queued"}
		waits[i] = s.fw.wait(id)
		// Append with a context the client cannot cancel: a record half
		// written when the client leaves would still be forwarded.
		if _, err := s.ob.Append(context.WithoutCancel(r.Context()), outbox.Entry{Dataset: dataset, ID: id, Data: l.data}); err != nil {
			for j := 0; j <= i; j++ {
				s.fw.forget(results[j].ID, waits[j])
			}
			status, detail := http.StatusInternalServerError, "outbox: "+err.Error()
			if errors.Is(err, outbox.ErrFull) {
				status, detail = http.StatusServiceUnavailable, "outbox full: the hub has been away too long; retry later"
			}
			p := problem(status, detail)
			if i > 0 {
				// The lines before this one are durable and will be sent:
				// say so, so a retry sends only the rest.
				p.Detail += fmt.Sprintf("; lines before line %d are queued (see results)", l.n)
				p.Results = results[:i]
			}
			return p
		}
	}
	// The records are durable now. Wait a little for the hub's answer: one
	// deadline for the whole batch (a timer channel would fire only once).
	wctx, cancel := context.WithTimeout(r.Context(), s.cfg.AckTimeout)
	defer cancel()
	status := http.StatusCreated
	for i := range results {
		select {
		case o := <-waits[i]:
			results[i].Status, results[i].Seq, results[i].Error, results[i].Violations = o.Status, o.Seq, o.Error, o.Violations
		case <-wctx.Done():
		}
		if results[i].Status == "queued" {
			s.fw.forget(results[i].ID, waits[i])
		}
		switch results[i].Status {
		case "queued":
			if status == http.StatusCreated {
				status = http.StatusAccepted
			}
		case "rejected", "unknown-dataset":
			status = http.StatusUnprocessableEntity
		case "forbidden":
			if status != http.StatusUnprocessableEntity {
				status = http.StatusForbidden
			}
		case "conflict":
			if status != http.StatusUnprocessableEntity && status != http.StatusForbidden {
				status = http.StatusConflict
			}
		}
		s.m.posted.WithLabelValues(results[i].Status).Inc()
	}
	if !batch {
		res := results[0]
		switch res.Status {
		case "rejected", "unknown-dataset":
			p := problem(http.StatusUnprocessableEntity, res.Error)
			p.Violations = res.Violations
			return p
		case "forbidden":
			return problem(http.StatusForbidden, res.Error)
		case "conflict":
			return problem(http.StatusConflict, res.Error)
		}
		res.Line = 0
		return writeJSON(w, status, res)
	}
	if status == http.StatusUnprocessableEntity || status == http.StatusForbidden || status == http.StatusConflict {
		p := problem(status, "the hub refused some records; the others are stored or queued")
		for _, res := range results {
			if res.Status == "rejected" || res.Status == "forbidden" || res.Status == "unknown-dataset" || res.Status == "conflict" {
				p.Lines = append(p.Lines, LineError{Line: res.Line, Error: res.Error, Violations: res.Violations})
			}
		}
		p.Results = results
		return p
	}
	return writeJSON(w, status, map[string]any{"results": results})
}

// contentID makes a record id from the value at pointer (a JSON pointer or
// a top-level field) and a hash of the record: posting the same record again
// is stored once, a changed record is new.
func contentID(dataset, pointer string, data []byte) (string, bool) {
	if !strings.HasPrefix(pointer, "/") {
		pointer = "/" + pointer
	}
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return "", false
	}
	val, ok := schema.Lookup(v, pointer)
	if !ok {
		return "", false
	}
	var key string
	switch x := val.(type) {
	case string:
		key = x
	case float64:
		key = strconv.FormatFloat(x, 'f', -1, 64)
	default:
		return "", false
	}
	sum := sha256.Sum256(data)
	id := dataset + ":" + wire.EncodeKey(key) + ":" + hex.EncodeToString(sum[:8])
	return id, len(id) <= wire.MaxRecordIDLen
}

// readPosition parses ?since= and ?after=.
func readPosition(r *http.Request) ([]kit.SubscribeOption, error) {
	q := r.URL.Query()
	var opts []kit.SubscribeOption
	if v := q.Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return nil, problem(http.StatusBadRequest, fmt.Sprintf("since=%q: want an RFC 3339 time like 2026-01-02T15:04:05Z", v))
		}
		opts = append(opts, kit.StartAt(t))
	}
	if v := q.Get("after"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return nil, problem(http.StatusBadRequest, fmt.Sprintf("after=%q: want a sequence number", v))
		}
		if len(opts) > 0 {
			return nil, problem(http.StatusBadRequest, "give since or after, not both")
		}
		opts = append(opts, kit.StartAfter(n))
	}
	return opts, nil
}

// subscribeErr maps a kit error to the API's answer.
func subscribeErr(dataset string, err error) error {
	switch {
	case errors.Is(err, kit.ErrForbidden):
		return problem(http.StatusForbidden, fmt.Sprintf("this actor may not read %s", dataset))
	case errors.Is(err, kit.ErrUnknownDataset):
		return problem(http.StatusNotFound, fmt.Sprintf("dataset %q is not on the hub", dataset))
	case errors.Is(err, kit.ErrHubUnreachable):
		return problem(http.StatusBadGateway, err.Error())
	}
	return err
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
	dataset := r.PathValue("dataset")
	opts, err := readPosition(r)
	if err != nil {
		return err
	}
	follow := true
	if v := r.URL.Query().Get("follow"); v != "" {
		follow, _ = strconv.ParseBool(v)
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
	dataset := r.PathValue("dataset")
	bw := bufio.NewWriterSize(w, 64<<10)
	started := false
	err := s.stream(w, r, dataset, false, true, nil, func(e wire.Envelope) error {
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

// jobStream answers GET /stream?date=…[&updated-before-date=…] in JobTech
// JobStream's own format: a JSON array of ads changed in the window, removed
// ads as tombstones.
func (s *Sidecar) jobStream(w http.ResponseWriter, r *http.Request) error {
	q, err := jobstream.ParseStreamQuery(r.URL.Query())
	if err != nil {
		return problem(http.StatusBadRequest, err.Error())
	}
	envs, stop, err := s.envelopes(r.Context(), s.cfg.JobStreamDataset, kit.StartAt(q.Since))
	if err != nil {
		return err
	}
	defer stop()
	w.Header().Set("Content-Type", "application/json")
	if _, err := jobstream.WriteStream(r.Context(), w, q, envs, jobstream.WithAdIDs(s.adIDs(r.Context()))); err != nil {
		s.log.Warn("jobstream answer cut short", "err", err)
	}
	return nil
}

// jobSnapshot answers GET /snapshot: every current ad, JobStream format.
func (s *Sidecar) jobSnapshot(w http.ResponseWriter, r *http.Request) error {
	envs, stop, err := s.envelopes(r.Context(), s.cfg.JobStreamDataset, kit.FromSnapshot())
	if err != nil {
		return err
	}
	defer stop()
	w.Header().Set("Content-Type", "application/json")
	if _, err := jobstream.WriteSnapshot(r.Context(), w, envs, jobstream.WithAdIDs(s.adIDs(r.Context()))); err != nil {
		s.log.Warn("jobstream snapshot cut short", "err", err)
	}
	return nil
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
