package web

import (
	"context"
	"encoding/json"
	"errors"
	"iter"
	"net/http"
	"strings"
	"time"

	"github.com/jobtech-dev/datahub/connector-kit/jobstream"
	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/hub/internal/registry"
	"github.com/jobtech-dev/datahub/hub/internal/store"
	"github.com/jobtech-dev/datahub/internal/httpserve"
	"github.com/jobtech-dev/datahub/internal/problem"
)

// openDataset is the open dataset the path names: anything else — not
// declared, or not open — is a 404 problem, the same for both, so the
// public side tells nothing more than the catalog does. A client over its
// download rate is answered 429.
func (w *Web) openDataset(rw http.ResponseWriter, r *http.Request) *registry.Dataset {
	name := r.PathValue("dataset")
	d, ok := w.Registry.Get(name)
	if !wire.ValidName(name) || !ok || !d.Open {
		problem.Write(rw, r, problem.New(wire.CodeNotFound, "no open dataset of that name: only datasets declared open: true can be downloaded without credentials"))
		return nil
	}
	if !w.downloads.allow(r) {
		problem.Write(rw, r, problem.New(wire.CodeRateLimited, "too many downloads from your address: retry in a minute").RetryAfter(time.Minute/time.Duration(max(1, w.DownloadsPerMinute))*2))
		return nil
	}
	return d
}

// writeNDJSON streams the envelopes of a read as NDJSON, each write with a
// fresh deadline (a long download is fine while it moves).
func (w *Web) writeNDJSON(rw http.ResponseWriter, r *http.Request, d *registry.Dataset, pos store.Position) {
	rw.Header().Set("Content-Type", "application/x-ndjson")
	rw.Header().Set("Content-Disposition", `attachment; filename="`+d.Name+`.ndjson"`)
	rw.Header().Set("X-Content-Type-Options", "nosniff")
	httpserve.Streaming(rw)
	enc := json.NewEncoder(rw)
	n := 0
	err := store.Read(r.Context(), w.JetStream, d.Name, pos, store.ReadOptions{}, func(e wire.Envelope) error {
		n++
		return enc.Encode(e)
	})
	if err != nil && r.Context().Err() == nil {
		w.log.Warn("open download cut short", "dataset", d.Name, "records", n, "err", err)
		if n == 0 {
			problem.Write(rw, r, err)
			return
		}
		panic(http.ErrAbortHandler) // the client must see a truncated download, not a short valid one
	}
}

// openSnapshot downloads the latest record per key of an open dataset.
func (w *Web) openSnapshot(rw http.ResponseWriter, r *http.Request) {
	if d := w.openDataset(rw, r); d != nil {
		w.writeNDJSON(rw, r, d, store.Position{Snapshot: true})
	}
}

// openChanges downloads every record an open dataset stored since a time.
func (w *Web) openChanges(rw http.ResponseWriter, r *http.Request) {
	d := w.openDataset(rw, r)
	if d == nil {
		return
	}
	v := r.URL.Query().Get("since")
	since, err := time.Parse(time.RFC3339, v)
	if err != nil {
		problem.Write(rw, r, problem.New(wire.CodeBadRequest, "query since="+quote(v)+": want an RFC 3339 time such as 2026-11-01T00:00:00Z"))
		return
	}
	w.writeNDJSON(rw, r, d, store.Position{Since: since})
}

// jobStream answers JobStream's /stream (v1: date, updated-before-date) and
// /v2/stream (updated-after, updated-before) for an open job-ad dataset.
func (w *Web) jobStream(rw http.ResponseWriter, r *http.Request) {
	d := w.jobStreamDataset(rw, r)
	if d == nil {
		return
	}
	parse := jobstream.ParseStreamQuery
	if strings.Contains(r.URL.Path, "/v2/") {
		parse = jobstream.ParseStreamQueryV2
	}
	q, err := parse(r.URL.Query())
	if err != nil {
		problem.Write(rw, r, problem.New(wire.CodeBadRequest, err.Error()))
		return
	}
	rw.Header().Set("Content-Type", jobstream.ContentType)
	httpserve.Streaming(rw)
	if _, err := jobstream.WriteStream(r.Context(), rw, q, w.envelopes(r.Context(), d.Name, store.Position{Since: q.Since}), jobstream.WithAdIDs(jobstream.For(d.KeyScope, d.Owner))); err != nil {
		w.log.Warn("jobstream answer cut short", "dataset", d.Name, "err", err)
		panic(http.ErrAbortHandler)
	}
}

// jobSnapshot answers JobStream's /snapshot and /v2/snapshot.
func (w *Web) jobSnapshot(rw http.ResponseWriter, r *http.Request) {
	d := w.jobStreamDataset(rw, r)
	if d == nil {
		return
	}
	rw.Header().Set("Content-Type", jobstream.ContentType)
	httpserve.Streaming(rw)
	if _, err := jobstream.WriteSnapshot(r.Context(), rw, w.envelopes(r.Context(), d.Name, store.Position{Snapshot: true}),
		jobstream.WithAdIDs(jobstream.For(d.KeyScope, d.Owner)), jobstream.WithFilter(jobstream.ParseSnapshotQuery(r.URL.Query()))); err != nil {
		w.log.Warn("jobstream snapshot cut short", "dataset", d.Name, "err", err)
		panic(http.ErrAbortHandler)
	}
}

// jobStreamDataset is the open dataset the path names, if its records are
// JobStream ads (key id, tombstone removed).
func (w *Web) jobStreamDataset(rw http.ResponseWriter, r *http.Request) *registry.Dataset {
	d := w.openDataset(rw, r)
	if d != nil && !jobstream.Serves(d.Key, d.Tombstone) {
		problem.Write(rw, r, problem.New(wire.CodeNotFound, "dataset "+d.Name+" does not hold JobStream ads (key id, tombstone removed)"))
		return nil
	}
	return d
}

// envelopes reads a dataset from pos afresh at each range (what
// jobstream.WriteStream's two passes need), ending with what is stored.
func (w *Web) envelopes(ctx context.Context, dataset string, pos store.Position) iter.Seq2[wire.Envelope, error] {
	return func(yield func(wire.Envelope, error) bool) {
		stop := errors.New("stop")
		err := store.Read(ctx, w.JetStream, dataset, pos, store.ReadOptions{Tombstones: true}, func(e wire.Envelope) error {
			if !yield(e, nil) {
				return stop
			}
			return nil
		})
		if err != nil && !errors.Is(err, stop) {
			yield(wire.Envelope{}, err)
		}
	}
}

func quote(s string) string {
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	b, _ := json.Marshal(s)
	return string(b)
}
