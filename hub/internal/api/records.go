package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/hub/internal/jsread"
	"github.com/jobtech-dev/datahub/hub/internal/store"
	"github.com/jobtech-dev/datahub/internal/publish"
)

// BatchResult answers a batch publish: one result per input line.
type BatchResult struct {
	Stored      int           `json:"stored"`
	Duplicates  int           `json:"duplicates"`
	Rejected    int           `json:"rejected"`
	Unavailable int           `json:"unavailable"`
	Results     []LineOutcome `json:"results"`
}

// LineOutcome is the outcome of one line of a batch.
type LineOutcome struct {
	Line int `json:"line"`
	wire.Reply
}

// publishTimeout bounds how long a publish request waits for the hub's answer.
const publishTimeout = 30 * time.Second

func (a *api) publishRecords(w http.ResponseWriter, r *http.Request) error {
	d, err := a.dataset(r)
	if err != nil {
		return err
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "application/x-ndjson", "application/ndjson", "application/jsonl":
		return a.publishBatch(w, r, d.Name)
	case "", "application/json":
	default:
		return newProblem(http.StatusUnsupportedMediaType, fmt.Sprintf("content type %q: send application/json (one record) or application/x-ndjson (a batch)", ct))
	}
	// Read a little past the record limit so an oversized record still reaches
	// the validator (and the dead letters) with a precise answer.
	limit := int64(a.MaxRecordBytes) + 32<<10
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return newProblem(http.StatusRequestEntityTooLarge, fmt.Sprintf("record larger than %d bytes", a.MaxRecordBytes))
		}
		return newProblem(http.StatusBadRequest, "read body: "+err.Error())
	}
	ctx, cancel := context.WithTimeout(r.Context(), publishTimeout)
	defer cancel()
	reply, err := a.Publisher.Publish(ctx, d.Name, body, r.Header.Get(wire.RequestRecordID))
	if err != nil {
		return newProblem(http.StatusServiceUnavailable, "record not stored, retry: "+err.Error())
	}
	switch reply.Status {
	case wire.StatusStored:
		return writeJSON(w, http.StatusCreated, reply)
	case wire.StatusDuplicate:
		return writeJSON(w, http.StatusOK, reply)
	case wire.StatusRejected, wire.StatusTooLarge, wire.StatusUnknownDataset:
		status := http.StatusUnprocessableEntity
		if reply.Status == wire.StatusTooLarge {
			status = http.StatusRequestEntityTooLarge
		} else if reply.Status == wire.StatusUnknownDataset {
			status = http.StatusNotFound
		}
		p := newProblem(status, reply.Error)
		p.Violations = reply.Violations
		return p
	default:
		return newProblem(http.StatusServiceUnavailable, reply.Error)
	}
}

func (a *api) publishBatch(w http.ResponseWriter, r *http.Request, dataset string) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, a.MaxBatchBytes))
	if err != nil {
		return newProblem(http.StatusRequestEntityTooLarge, fmt.Sprintf("batch larger than %d bytes: split it", a.MaxBatchBytes))
	}
	type line struct {
		n    int
		data []byte
	}
	var lines []line
	for n, raw := range bytes.Split(body, []byte("\n")) {
		raw = bytes.TrimSpace(raw)
		if len(raw) == 0 {
			continue
		}
		lines = append(lines, line{n + 1, raw})
		if len(lines) > a.MaxBatch {
			return newProblem(http.StatusRequestEntityTooLarge, fmt.Sprintf("batch has more than %d records: split it", a.MaxBatch))
		}
	}
	if len(lines) == 0 {
		return newProblem(http.StatusBadRequest, "empty batch: send one JSON record per line")
	}
	ctx, cancel := context.WithTimeout(r.Context(), publishTimeout)
	defer cancel()
	futures := make([]*publish.Future, len(lines))
	res := BatchResult{Results: make([]LineOutcome, len(lines))}
	for i, l := range lines {
		res.Results[i].Line = l.n
		f, err := a.Publisher.Send(ctx, dataset, l.data, "")
		if err != nil {
			res.Results[i].Reply = wire.Reply{Status: wire.StatusUnavailable, Dataset: dataset, Error: err.Error()}
			continue
		}
		futures[i] = f
	}
	for i, f := range futures {
		if f == nil {
			continue
		}
		reply, err := f.Result(ctx)
		if err != nil {
			a.Publisher.Abandon(f)
			reply = wire.Reply{Status: wire.StatusUnavailable, Dataset: dataset, Error: "outcome unknown, retry: " + err.Error()}
		}
		res.Results[i].Reply = reply
	}
	for _, o := range res.Results {
		switch o.Status {
		case wire.StatusStored:
			res.Stored++
		case wire.StatusDuplicate:
			res.Duplicates++
		case wire.StatusRejected, wire.StatusTooLarge, wire.StatusUnknownDataset:
			res.Rejected++
		default:
			res.Unavailable++
		}
	}
	status := http.StatusOK
	switch {
	case res.Unavailable > 0:
		status = http.StatusServiceUnavailable
	case res.Rejected > 0:
		status = http.StatusUnprocessableEntity
	}
	return writeJSON(w, status, res)
}

func (a *api) readRecords(w http.ResponseWriter, r *http.Request) error {
	d, err := a.dataset(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	var pos store.Position
	if v := q.Get("after"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return newProblem(http.StatusBadRequest, fmt.Sprintf("query after=%q: want a sequence number", v))
		}
		pos.AfterSeq = n
	}
	if v := q.Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return newProblem(http.StatusBadRequest, fmt.Sprintf("query since=%q: want an RFC 3339 time like 2026-01-02T15:04:05Z", v))
		}
		pos.Since = t
	}
	if v := q.Get("snapshot"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return newProblem(http.StatusBadRequest, fmt.Sprintf("query snapshot=%q: want true or false", v))
		}
		pos.Snapshot = b
	}
	follow := false
	if v := q.Get("follow"); v != "" {
		var err error
		if follow, err = strconv.ParseBool(v); err != nil {
			return newProblem(http.StatusBadRequest, fmt.Sprintf("query follow=%q: want true or false", v))
		}
	}
	if err := pos.Validate(); err != nil {
		return newProblem(http.StatusBadRequest, err.Error())
	}
	return a.streamRecords(w, r, d.Name, pos, follow)
}

func (a *api) readSnapshot(w http.ResponseWriter, r *http.Request) error {
	d, err := a.dataset(r)
	if err != nil {
		return err
	}
	return a.streamRecords(w, r, d.Name, store.Position{Snapshot: true}, false)
}

// ndjsonWriter writes one JSON value per line, flushing so a follower sees
// records as they arrive.
type ndjsonWriter struct {
	w       http.ResponseWriter
	bw      *bufio.Writer
	enc     *json.Encoder
	started bool
}

func newNDJSON(w http.ResponseWriter) *ndjsonWriter {
	bw := bufio.NewWriterSize(w, 64<<10)
	return &ndjsonWriter{w: w, bw: bw, enc: json.NewEncoder(bw)}
}

func (n *ndjsonWriter) start() {
	if !n.started {
		n.w.Header().Set("Content-Type", "application/x-ndjson")
		n.w.WriteHeader(http.StatusOK)
		n.started = true
	}
}

func (n *ndjsonWriter) write(v any, flush bool) error {
	n.start()
	if err := n.enc.Encode(v); err != nil {
		return err
	}
	if flush {
		return n.flush()
	}
	return nil
}

func (n *ndjsonWriter) flush() error {
	n.start()
	if err := n.bw.Flush(); err != nil {
		return err
	}
	if f, ok := n.w.(http.Flusher); ok {
		f.Flush()
	}
	return nil
}

func (a *api) streamRecords(w http.ResponseWriter, r *http.Request, dataset string, pos store.Position, follow bool) error {
	w.Header().Set("Trailer", UnreadableTrailer)
	out := newNDJSON(w)
	err := store.Read(r.Context(), a.JetStream, dataset, pos, store.ReadOptions{Follow: follow, OnUnreadable: a.reportUnreadable(r)}, func(e wire.Envelope) error {
		return out.write(e, follow)
	})
	return a.finishStream(out, err)
}

func (a *api) readDeadLetters(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("dataset")
	if !wire.ValidName(name) && name != "_invalid" {
		return newProblem(http.StatusNotFound, fmt.Sprintf("%q is not a dataset name", name))
	}
	var after uint64
	if v := r.URL.Query().Get("after"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return newProblem(http.StatusBadRequest, fmt.Sprintf("query after=%q: want a sequence number", v))
		}
		after = n
	}
	w.Header().Set("Trailer", UnreadableTrailer)
	out := newNDJSON(w)
	err := store.ReadDeadLetters(r.Context(), a.JetStream, name, after, store.ReadOptions{OnUnreadable: a.reportUnreadable(r)}, func(d wire.DeadLetter) error {
		return out.write(d, false)
	})
	return a.finishStream(out, err)
}

// finishStream ends an NDJSON response. Once the body has started, an error
// can only be logged: the status line is gone. Records passed over because
// they could not be loaded are named in the UnreadableTrailer.
func (a *api) finishStream(out *ndjsonWriter, err error) error {
	if ue, ok := errors.AsType[*jsread.UnreadableError](err); ok {
		return a.unreadableEnd(out.w, out, ue)
	}
	if err != nil && !out.started {
		if errors.Is(err, store.ErrNoStream) {
			return newProblem(http.StatusNotFound, err.Error())
		}
		return err
	}
	if err != nil {
		a.log.Warn("record stream ended early", "err", err)
		return nil
	}
	return out.flush()
}
