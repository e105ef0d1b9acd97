package backup

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"mime/multipart"
	"net/textproto"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jobtech-dev/datahub/hub/internal/integrity"
)

// auditStream is the audit log's stream (package audit's StreamName; not
// imported, to keep this package free of the audit log's machinery).
const auditStream = "AUDIT"

// Part headers of a backup body.
const (
	// HeaderStream names the stream whose snapshot a part holds.
	HeaderStream = "Hub-Stream"
	// HeaderPart says what a part is: "stream", "manifest" or "error".
	HeaderPart = "Hub-Part"
)

// Source takes online backups of a running hub.
type Source struct {
	// Connect opens an in-process connection with the hub's identity
	// (only it may use the JetStream API).
	Connect func(name string, opts ...nats.Option) (*nats.Conn, error)
	// JS lists the streams.
	JS jetstream.JetStream
	// Hub is the hub's name, written into the manifest.
	Hub    string
	Logger *slog.Logger
}

// Streams lists the streams a backup holds, in the order it takes them:
// the datasets, the dead letters, the KV buckets, any others, and the audit
// log last, so that it records every change the other snapshots hold.
func (s *Source) Streams(ctx context.Context) ([]string, error) {
	var names []string
	lister := s.JS.StreamNames(ctx)
	for name := range lister.Name() {
		if name != integrity.BucketStream {
			names = append(names, name)
		}
	}
	if err := lister.Err(); err != nil {
		return nil, fmt.Errorf("list streams: %w", err)
	}
	rank := func(n string) int {
		switch kindOf(n) {
		case "dataset":
			return 0
		case "deadletter":
			return 1
		case "bucket":
			return 2
		case "audit":
			return 4
		}
		return 3
	}
	slices.SortFunc(names, func(a, b string) int {
		if d := rank(a) - rank(b); d != 0 {
			return d
		}
		return strings.Compare(a, b)
	})
	return names, nil
}

// Write writes a backup of every stream to mw: a part per stream, then the
// manifest. A failure after the first part is written as an "error" part
// (and returned): a body without a manifest is an incomplete backup.
func (s *Source) Write(ctx context.Context, mw *multipart.Writer, started time.Time) (Manifest, error) {
	log := s.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := Manifest{Format: Format, Hub: s.Hub, Started: started.UTC()}
	fail := func(err error) (Manifest, error) {
		h := textproto.MIMEHeader{}
		h.Set("Content-Type", "text/plain; charset=utf-8")
		h.Set(HeaderPart, "error")
		if pw, perr := mw.CreatePart(h); perr == nil {
			_, _ = io.WriteString(pw, err.Error())
		}
		return m, err
	}
	names, err := s.Streams(ctx)
	if err != nil {
		return fail(err)
	}
	nc, err := s.Connect("hub-backup")
	if err != nil {
		return fail(err)
	}
	defer nc.Close()
	for _, name := range names {
		h := textproto.MIMEHeader{}
		h.Set("Content-Type", "application/octet-stream")
		h.Set(HeaderPart, "stream")
		h.Set(HeaderStream, name)
		pw, err := mw.CreatePart(h)
		if err != nil {
			return m, fmt.Errorf("backup %s: %w", name, err)
		}
		cw := &countingWriter{w: pw, h: sha256.New()}
		snap, err := snapshotStream(ctx, nc, name, cw)
		if err != nil {
			return fail(err)
		}
		m.Streams = append(m.Streams, Stream{Name: name, Kind: kindOf(name), File: snapshotFile(name),
			Bytes: cw.n, SHA256: hex.EncodeToString(cw.h.Sum(nil)),
			Msgs: snap.state.Msgs, FirstSeq: snap.state.FirstSeq, LastSeq: snap.state.LastSeq,
			Config: snap.Config, State: snap.State})
		log.Info("backup: stream snapshot taken", "stream", name, "msgs", snap.state.Msgs, "last_seq", snap.state.LastSeq, "bytes", cw.n)
	}
	m.Finished = time.Now().UTC()
	h := textproto.MIMEHeader{}
	h.Set("Content-Type", "application/json")
	h.Set(HeaderPart, "manifest")
	pw, err := mw.CreatePart(h)
	if err != nil {
		return m, err
	}
	enc := json.NewEncoder(pw)
	enc.SetIndent("", "  ")
	return m, enc.Encode(m)
}

// countingWriter counts and hashes what it passes on.
type countingWriter struct {
	w io.Writer
	h hash.Hash
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.h.Write(p[:n])
	c.n += int64(n)
	return n, err
}
