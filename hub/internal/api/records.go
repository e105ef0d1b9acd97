package api

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/hub/internal/jsread"
	"github.com/jobtech-dev/datahub/hub/internal/store"
	"github.com/jobtech-dev/datahub/internal/httpserve"
	"github.com/jobtech-dev/datahub/internal/problem"
	"github.com/jobtech-dev/datahub/internal/publish"
	"github.com/jobtech-dev/datahub/internal/recordid"
)

// publishTimeout bounds how long a publish request waits for the hub's answer.
const publishTimeout = 30 * time.Second

func (a *api) publishRecords(w http.ResponseWriter, r *http.Request) error {
	d, err := a.dataset(r)
	if err != nil {
		return err
	}
	pin, err := pinned(r)
	if err != nil {
		return err
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "application/x-ndjson", "application/ndjson", "application/jsonl":
		return a.publishBatch(w, r, d.Name, pin...)
	case "", "application/json":
	default:
		return problem.New(problem.CodeUnsupportedMediaType, fmt.Sprintf("content type %q: send application/json (one record) or application/x-ndjson (a batch)", ct))
	}
	// Read a little past the record limit so an oversized record still reaches
	// the validator (and the dead letters) with a precise answer.
	limit := int64(a.MaxRecordBytes) + 32<<10
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return problem.New(wire.CodeTooLarge, fmt.Sprintf("record larger than %d bytes", a.MaxRecordBytes))
		}
		return problem.New(wire.CodeBadRequest, "read body: "+err.Error())
	}
	id := r.Header.Get(wire.RequestRecordID)
	if idFrom := r.URL.Query().Get("id_from"); idFrom != "" {
		if id, err = recordid.FromField(d.Name, idFrom, body); err != nil {
			p := problem.New(wire.CodeInvalid, err.Error())
			p.Violations = []wire.Violation{{Keyword: "id_from", Message: err.Error()}}
			return p
		}
	}
	ctx, cancel := context.WithTimeout(r.Context(), publishTimeout)
	defer cancel()
	reply, err := a.Publisher.Publish(ctx, d.Name, body, id, pin...)
	if err != nil {
		return problem.New(wire.CodeUnavailable, "record not stored, retry: "+err.Error())
	}
	// One answer for one record, the same as the sidecar's: the line result
	// with the outcome's status, or a problem naming the code and every
	// violation.
	if !reply.OK() {
		p := problem.New(reply.Code, reply.Error)
		if reply.Code == "" {
			p = problem.New(wire.CodeUnavailable, reply.Error)
		}
		p.Violations = reply.Violations
		return p
	}
	return problem.WriteJSON(w, problem.OutcomeStatus(reply.Status), problem.ResultOf(0, reply))
}

// pinned reads the schema version a publish request pins
// (Hub-Schema-Version), as the option that passes it on; none when absent.
func pinned(r *http.Request) ([]publish.SendOption, error) {
	v := r.Header.Get(wire.RequestSchemaVersion)
	if v == "" {
		return nil, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return nil, problem.New(wire.CodeBadRequest, fmt.Sprintf("header %s: %s is not a schema version number", wire.RequestSchemaVersion, quoteShort(v)))
	}
	return []publish.SendOption{publish.WithSchemaVersion(n)}, nil
}

func (a *api) readRecords(w http.ResponseWriter, r *http.Request) error {
	d, err := a.dataset(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	var pos store.Position
	if v := q.Get("after"); v != "" {
		n, err := parseAfter(v)
		if err != nil {
			return err
		}
		pos.AfterSeq = n
	}
	if v := q.Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return problem.New(wire.CodeBadRequest, fmt.Sprintf("query since=%q: want an RFC 3339 time like 2026-01-02T15:04:05Z", v))
		}
		pos.Since = t
	}
	if v := q.Get("snapshot"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return problem.New(wire.CodeBadRequest, fmt.Sprintf("query snapshot=%q: want true or false", v))
		}
		pos.Snapshot = b
	}
	follow := false
	if v := q.Get("follow"); v != "" {
		var err error
		if follow, err = strconv.ParseBool(v); err != nil {
			return problem.New(wire.CodeBadRequest, fmt.Sprintf("query follow=%q: want true or false", v))
		}
	}
	if err := pos.Validate(); err != nil {
		return problem.New(wire.CodeBadRequest, err.Error())
	}
	return a.streamRecords(w, r, d.Name, pos, follow)
}

// parseAfter reads an after= sequence. Stream sequences are uint64 and the
// read starts at the next one, so the largest uint64 has no next.
func parseAfter(v string) (uint64, error) {
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil || n == math.MaxUint64 {
		return 0, problem.New(wire.CodeBadRequest, fmt.Sprintf("query after=%s: want a sequence number from 0 to %d", quoteShort(v), uint64(math.MaxUint64-1)))
	}
	return n, nil
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

// newNDJSON starts a stream: every write has the server's write timeout to
// complete, not the whole response (a follow can last hours, a full read of
// a large dataset minutes).
func newNDJSON(w http.ResponseWriter) *ndjsonWriter {
	httpserve.Streaming(w)
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
		return problem.New(wire.CodeNotFound, fmt.Sprintf("%s is not a dataset name ([a-z][a-z0-9-]{0,62})", quoteShort(name)))
	}
	var after uint64
	if v := r.URL.Query().Get("after"); v != "" {
		n, err := parseAfter(v)
		if err != nil {
			return err
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
			return problem.New(wire.CodeNotFound, err.Error())
		}
		return err
	}
	if err != nil {
		a.log.Warn("record stream ended early", "err", err)
		return nil
	}
	return out.flush()
}
