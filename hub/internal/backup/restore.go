package backup

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/jobtech-dev/datahub/hub/internal/integrity"
	"github.com/jobtech-dev/datahub/hub/internal/natsd"
)

// Restored says what a restore wrote.
type Restored struct {
	Manifest Manifest
	// Streams are the restored streams' states, as the restored hub's
	// first start compares them.
	Streams map[string]integrity.StreamState
	// Lacking names the streams whose backup lacks messages the source
	// counted but could not load; the restored hub reports them as lost.
	Lacking []string
}

// Restore writes the backup in folder from into the data dir dataDir, which
// must not exist or be empty, offline (no hub may run on dataDir). Every
// snapshot is checked against the manifest before anything is written;
// every restored stream is checked against the state its snapshot holds.
// On failure the data dir is emptied again. A hub started on dataDir then
// serves the backup's records, actors, policies, subscriptions and audit
// log, with a new admin token.
func Restore(ctx context.Context, from, dataDir string, log *slog.Logger) (Restored, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m, err := ReadManifest(from)
	if err != nil {
		return Restored{}, err
	}
	if err := verifyFiles(from, m); err != nil {
		return Restored{}, err
	}
	if err := checkEmpty(dataDir); err != nil {
		return Restored{}, fmt.Errorf("restore into %w", err)
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return Restored{}, fmt.Errorf("data dir %s: %w", dataDir, err)
	}
	res, err := restore(ctx, from, dataDir, m, log)
	if err != nil {
		if entries, _ := os.ReadDir(dataDir); len(entries) > 0 {
			for _, e := range entries {
				_ = os.RemoveAll(filepath.Join(dataDir, e.Name()))
			}
		}
		return Restored{}, fmt.Errorf("%w (the data dir %s was emptied again)", err, dataDir)
	}
	return res, nil
}

func restore(ctx context.Context, from, dataDir string, m Manifest, log *slog.Logger) (Restored, error) {
	// The server listens on a free loopback port, but refuses every client
	// except the in-process identity: no authorizer is ever set.
	srv, err := natsd.Start(ctx, natsd.Config{Name: "restore", Listen: "127.0.0.1:0",
		StoreDir: filepath.Join(dataDir, "jetstream"), MaxPayload: 8 << 20, Logger: log})
	if err != nil {
		return Restored{}, err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	nc, err := srv.Connect("hub-restore")
	if err != nil {
		return Restored{}, err
	}
	defer nc.Close()
	short := map[string]Stream{}
	for _, s := range m.Streams {
		f, err := os.Open(filepath.Join(from, filepath.FromSlash(s.File)))
		if err != nil {
			return Restored{}, fmt.Errorf("restore %s: %w", s.Name, err)
		}
		info, err := restoreStream(ctx, nc, s, f)
		f.Close()
		if err != nil {
			return Restored{}, err
		}
		st := info.State
		switch {
		case st.LastSeq != s.LastSeq || (s.Msgs > 0 && st.FirstSeq != s.FirstSeq) || st.Msgs > s.Msgs:
			return Restored{}, fmt.Errorf("restore %s: the restored stream holds %d messages, sequences %d-%d; the backup says %d, %d-%d",
				s.Name, st.Msgs, st.FirstSeq, st.LastSeq, s.Msgs, s.FirstSeq, s.LastSeq)
		case st.Msgs < s.Msgs:
			// The source counted messages it could not load (damaged
			// there): the snapshot went past them. The restored hub
			// reports the gap at its first start.
			short[s.Name] = s
			log.Warn("restore: the backup lacks messages its stream counted (unreadable at the source); the restored hub reports them as lost at its first start",
				"stream", s.Name, "restored", st.Msgs, "counted", s.Msgs)
		}
		log.Info("restore: stream restored", "stream", s.Name, "msgs", st.Msgs, "last_seq", st.LastSeq)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return Restored{}, err
	}
	states, err := integrity.CurrentStates(ctx, js)
	if err != nil {
		return Restored{}, err
	}
	for name, s := range short {
		st := states[name]
		st.Msgs = s.Msgs
		states[name] = st
	}
	// The first start compares the streams with what was restored.
	if err := integrity.WriteFile(dataDir, integrity.Record{Generation: 1, WrittenAt: time.Now().UTC(), Clean: true, Streams: states}); err != nil {
		return Restored{}, err
	}
	var lacking []string
	for name := range short {
		lacking = append(lacking, name)
	}
	slices.Sort(lacking)
	return Restored{Manifest: m, Streams: states, Lacking: lacking}, nil
}
