package adopt

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jobtech-dev/datahub/internal/atomicfile"
)

// ManifestFile names the manifest in an export folder; it is written last,
// so an export folder without it is an export that did not finish.
const ManifestFile = "manifest.json"

// ErrConflict is returned by Import when the cluster already holds a stream
// of the export with other contents.
var ErrConflict = errors.New("the cluster already holds this stream with other records")

// Manifest lists what an export holds.
type Manifest struct {
	// ID names this export (the time it was made), so the cluster can tell
	// an import of it that was interrupted from another hub's data.
	ID         string    `json:"id"`
	ExportedAt time.Time `json:"exported_at"`
	// From is the JetStream folder the streams were read from.
	From    string   `json:"from"`
	Streams []Stream `json:"streams"`
}

// Stream is one exported stream.
type Stream struct {
	Name string `json:"name"`
	// Config is the stream's configuration as JetStream gave it.
	Config json.RawMessage `json:"config"`
	// State is the stream's state as JetStream gave it with the snapshot.
	State json.RawMessage `json:"state"`
	// Msgs, FirstSeq and LastSeq are what the restored stream must show.
	Msgs     uint64 `json:"msgs"`
	FirstSeq uint64 `json:"first_seq"`
	LastSeq  uint64 `json:"last_seq"`
	// File is the snapshot's file in the export folder, Bytes its size and
	// SHA256 its checksum.
	File   string `json:"file"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// Standalone reports whether storeDir (what the hub gives JetStream as its
// store dir) holds streams of a server that ran alone: streams, and no
// cluster metadata.
func Standalone(storeDir string) (bool, error) {
	root := filepath.Join(storeDir, server.JetStreamStoreDir)
	entries, err := os.ReadDir(filepath.Join(root, server.DEFAULT_GLOBAL_ACCOUNT, "streams"))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("read JetStream folder %s: %w", root, err)
	}
	streams := 0
	for _, e := range entries {
		if e.IsDir() {
			streams++
		}
	}
	if streams == 0 {
		return false, nil
	}
	if _, err := os.Stat(filepath.Join(root, server.DEFAULT_SYSTEM_ACCOUNT, "_js_", "_meta_")); err == nil {
		return false, nil // a cluster node's folder
	} else if !errors.Is(err, fs.ErrNotExist) {
		return false, fmt.Errorf("read JetStream folder %s: %w", root, err)
	}
	return true, nil
}

// ReadManifest reads the manifest of the export in dir; nil without error
// when dir holds no finished export.
func ReadManifest(dir string) (*Manifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read export manifest: %w", err)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("export manifest %s: %w", filepath.Join(dir, ManifestFile), err)
	}
	return &m, nil
}

// Export snapshots every stream of the standalone JetStream store in
// storeDir into dir (emptied first) and writes the manifest last. It runs
// its own JetStream server on the store with no listener, so nothing else
// may use the store meanwhile (the hub holds the data dir's lock).
func Export(ctx context.Context, storeDir, dir string, log *slog.Logger) (*Manifest, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := os.RemoveAll(dir); err != nil {
		return nil, fmt.Errorf("clear export folder %s: %w", dir, err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("export folder %s: %w", dir, err)
	}
	ns, err := server.NewServer(&server.Options{
		ServerName: "hub-export", JetStream: true, StoreDir: filepath.Clean(storeDir),
		DontListen: true, NoSigs: true, NoLog: true, JetStreamMaxMemory: -1, JetStreamMaxStore: -1,
	})
	if err != nil {
		return nil, fmt.Errorf("open the single hub's JetStream files: %w", err)
	}
	ns.Start()
	defer func() { ns.Shutdown(); ns.WaitForShutdown() }()
	if !ns.ReadyForConnections(30 * time.Second) {
		return nil, fmt.Errorf("open the single hub's JetStream files in %s: server not ready", storeDir)
	}
	nc, err := nats.Connect("", nats.InProcessServer(ns), nats.Name("hub-export"))
	if err != nil {
		return nil, fmt.Errorf("connect to the single hub's JetStream: %w", err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	var names []string
	lister := js.StreamNames(ctx)
	for name := range lister.Name() {
		names = append(names, name)
	}
	if err := lister.Err(); err != nil {
		return nil, fmt.Errorf("list the single hub's streams: %w", err)
	}
	sort.Strings(names)
	m := &Manifest{ID: time.Now().UTC().Format("20060102T150405.000000000Z"), ExportedAt: time.Now().UTC(), From: storeDir}
	for _, name := range names {
		st, err := snapshot(ctx, nc, name, dir)
		if err != nil {
			return nil, err
		}
		log.Info("stream exported", "stream", name, "records", st.Msgs, "last_seq", st.LastSeq, "bytes", st.Bytes)
		m.Streams = append(m.Streams, st)
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := atomicfile.Write(filepath.Join(dir, ManifestFile), b, 0o600); err != nil {
		return nil, err
	}
	return m, nil
}

// snapshotResponse is JetStream's answer to a snapshot request.
type snapshotResponse struct {
	Config json.RawMessage `json:"config"`
	State  json.RawMessage `json:"state"`
	Error  *apiError       `json:"error"`
}

type apiError struct {
	Code        int    `json:"code"`
	ErrCode     int    `json:"err_code"`
	Description string `json:"description"`
}

func (e *apiError) Error() string { return fmt.Sprintf("%s (%d/%d)", e.Description, e.Code, e.ErrCode) }

type streamState struct {
	Msgs     uint64 `json:"messages"`
	FirstSeq uint64 `json:"first_seq"`
	LastSeq  uint64 `json:"last_seq"`
}

// snapshot writes stream's snapshot (messages checked, consumers included)
// to dir and returns its manifest entry.
func snapshot(ctx context.Context, nc *nats.Conn, stream, dir string) (Stream, error) {
	inbox := nc.NewInbox()
	chunks := make(chan *nats.Msg, 64)
	sub, err := nc.ChanSubscribe(inbox, chunks)
	if err != nil {
		return Stream{}, fmt.Errorf("snapshot %s: %w", stream, err)
	}
	defer sub.Unsubscribe()
	req, _ := json.Marshal(map[string]any{"deliver_subject": inbox, "jsck": true})
	rctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	msg, err := nc.RequestWithContext(rctx, "$JS.API.STREAM.SNAPSHOT."+stream, req)
	if err != nil {
		return Stream{}, fmt.Errorf("snapshot %s: %w", stream, err)
	}
	var resp snapshotResponse
	if err := json.Unmarshal(msg.Data, &resp); err != nil {
		return Stream{}, fmt.Errorf("snapshot %s: %w", stream, err)
	}
	if resp.Error != nil {
		return Stream{}, fmt.Errorf("snapshot %s: %w", stream, resp.Error)
	}
	var state streamState
	if err := json.Unmarshal(resp.State, &state); err != nil {
		return Stream{}, fmt.Errorf("snapshot %s: state: %w", stream, err)
	}
	file := stream + ".snapshot"
	f, err := os.OpenFile(filepath.Join(dir, file), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return Stream{}, fmt.Errorf("snapshot %s: %w", stream, err)
	}
	defer f.Close()
	h := sha256.New()
	w := io.MultiWriter(f, h)
	var n int64
	for {
		var m *nats.Msg
		select {
		case m = <-chunks:
		case <-time.After(30 * time.Second):
			return Stream{}, fmt.Errorf("snapshot %s: no data for 30s", stream)
		case <-ctx.Done():
			return Stream{}, fmt.Errorf("snapshot %s: %w", stream, ctx.Err())
		}
		if len(m.Data) == 0 {
			// The end: a 204 status, or nothing at all when the whole
			// snapshot fit in one chunk; any other status is an error.
			if st := m.Header.Get("Status"); st != "" && st != "204" {
				return Stream{}, fmt.Errorf("snapshot %s: JetStream ended it with status %s %s", stream, st, m.Header.Get("Description"))
			}
			break
		}
		k, err := w.Write(m.Data)
		if err != nil {
			return Stream{}, fmt.Errorf("snapshot %s: %w", stream, err)
		}
		n += int64(k)
		if m.Reply != "" {
			_ = m.Respond(nil) // flow control: the next chunk may come
		}
	}
	if err := f.Sync(); err != nil {
		return Stream{}, fmt.Errorf("snapshot %s: %w", stream, err)
	}
	return Stream{Name: stream, Config: resp.Config, State: resp.State, Msgs: state.Msgs, FirstSeq: state.FirstSeq, LastSeq: state.LastSeq,
		File: file, Bytes: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// Import restores every stream of m (exported to dir) into the cluster nc
// is connected to, with one replica each (the hub raises them later). A
// stream the cluster already holds with the manifest's state was restored
// by an earlier, interrupted import and is skipped; one with any other state
// stops the import with ErrConflict.
func Import(ctx context.Context, nc *nats.Conn, m *Manifest, dir string, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	for _, st := range m.Streams {
		s, err := js.Stream(ctx, st.Name)
		switch {
		case err == nil:
			info, err := s.Info(ctx)
			if err != nil {
				return fmt.Errorf("import %s: %w", st.Name, err)
			}
			if info.State.Msgs == st.Msgs && info.State.LastSeq == st.LastSeq && info.State.FirstSeq == st.FirstSeq {
				log.Info("stream already imported", "stream", st.Name, "records", st.Msgs)
				continue
			}
			return fmt.Errorf("import %s: %w: it has %d records up to seq %d, the single hub's export %d up to seq %d",
				st.Name, ErrConflict, info.State.Msgs, info.State.LastSeq, st.Msgs, st.LastSeq)
		case !errors.Is(err, jetstream.ErrStreamNotFound):
			return fmt.Errorf("import %s: %w", st.Name, err)
		}
		if err := restore(ctx, nc, st, dir); err != nil {
			return err
		}
		s, err = js.Stream(ctx, st.Name)
		if err != nil {
			return fmt.Errorf("import %s: after the restore: %w", st.Name, err)
		}
		info, err := s.Info(ctx)
		if err != nil {
			return fmt.Errorf("import %s: after the restore: %w", st.Name, err)
		}
		if info.State.Msgs != st.Msgs || info.State.LastSeq != st.LastSeq {
			return fmt.Errorf("import %s: restored %d records up to seq %d, the export holds %d up to seq %d", st.Name, info.State.Msgs, info.State.LastSeq, st.Msgs, st.LastSeq)
		}
		log.Info("stream imported into the cluster", "stream", st.Name, "records", st.Msgs, "last_seq", st.LastSeq)
	}
	return nil
}

// chunkSize is how much of a snapshot one restore message carries.
const chunkSize = 128 << 10

// restore sends st's snapshot file to JetStream's restore API.
func restore(ctx context.Context, nc *nats.Conn, st Stream, dir string) error {
	path := filepath.Join(dir, st.File)
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("import %s: %w", st.Name, err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return fmt.Errorf("import %s: read %s: %w", st.Name, path, err)
	}
	if sum := hex.EncodeToString(h.Sum(nil)); sum != st.SHA256 {
		return fmt.Errorf("import %s: %s is damaged: its checksum is %s, the manifest says %s", st.Name, path, sum, st.SHA256)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	// One replica while the data arrives; the hub raises it with the nodes.
	var cfg map[string]any
	if err := json.Unmarshal(st.Config, &cfg); err != nil {
		return fmt.Errorf("import %s: config: %w", st.Name, err)
	}
	cfg["num_replicas"] = 1
	delete(cfg, "placement")
	req, _ := json.Marshal(map[string]any{"config": cfg, "state": st.State})
	rctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	msg, err := nc.RequestWithContext(rctx, "$JS.API.STREAM.RESTORE."+st.Name, req)
	if err != nil {
		return fmt.Errorf("import %s: restore request: %w", st.Name, err)
	}
	var resp struct {
		DeliverSubject string    `json:"deliver_subject"`
		Error          *apiError `json:"error"`
	}
	if err := json.Unmarshal(msg.Data, &resp); err != nil {
		return fmt.Errorf("import %s: restore answer: %w", st.Name, err)
	}
	if resp.Error != nil {
		return fmt.Errorf("import %s: restore: %w", st.Name, resp.Error)
	}
	buf := make([]byte, chunkSize)
	for {
		k, err := io.ReadFull(f, buf)
		if k > 0 {
			ack, rerr := requestRetry(ctx, nc, resp.DeliverSubject, buf[:k])
			if rerr != nil {
				return fmt.Errorf("import %s: send snapshot: %w", st.Name, rerr)
			}
			if len(ack.Data) > 0 {
				var e struct {
					Error *apiError `json:"error"`
				}
				if json.Unmarshal(ack.Data, &e) == nil && e.Error != nil {
					return fmt.Errorf("import %s: restore: %w", st.Name, e.Error)
				}
			}
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("import %s: read %s: %w", st.Name, path, err)
		}
	}
	done, err := requestRetry(ctx, nc, resp.DeliverSubject, nil)
	if err != nil {
		return fmt.Errorf("import %s: finish restore: %w", st.Name, err)
	}
	var created struct {
		Error *apiError `json:"error"`
	}
	if err := json.Unmarshal(done.Data, &created); err != nil {
		return fmt.Errorf("import %s: restore result: %w", st.Name, err)
	}
	if created.Error != nil {
		return fmt.Errorf("import %s: restore: %w", st.Name, created.Error)
	}
	return nil
}

// requestRetry sends one restore message and waits for its answer. The node
// that takes the restore may answer the restore request before the other
// nodes have heard of its subscription: "no responders" is retried for a
// while.
func requestRetry(ctx context.Context, nc *nats.Conn, subj string, data []byte) (*nats.Msg, error) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
		m, err := nc.RequestWithContext(cctx, subj, data)
		cancel()
		if !errors.Is(err, nats.ErrNoResponders) || time.Now().After(deadline) {
			return m, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
