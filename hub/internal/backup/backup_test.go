package backup_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"mime/multipart"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jobtech-dev/datahub/hub/internal/backup"
	"github.com/jobtech-dev/datahub/hub/internal/hubtest"
	"github.com/jobtech-dev/datahub/hub/internal/integrity"
)

// take backs up a fresh test hub into a multipart body.
func take(t *testing.T) (*bytes.Buffer, string) {
	t.Helper()
	n := hubtest.StartNew(t)
	src := &backup.Source{Connect: n.NATS().Connect, JS: n.JetStream(), Hub: "hub"}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	m, err := src.Write(t.Context(), mw, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	for _, s := range m.Streams {
		if s.Name == integrity.BucketStream {
			t.Fatalf("the backup holds the hub's record of its own data dir (%s)", s.Name)
		}
	}
	if last := m.Streams[len(m.Streams)-1]; last.Name != "AUDIT" || m.Streams[0].Kind != "dataset" {
		t.Fatalf("backup order %+v: datasets first, the audit log last", m.Streams)
	}
	return &body, mw.Boundary()
}

func TestReceiveAndRestoreRefuseDamage(t *testing.T) {
	t.Parallel()
	body, boundary := take(t)
	raw := body.Bytes()

	// A body cut before its manifest is no backup, and leaves no folder.
	cut := filepath.Join(t.TempDir(), "cut")
	i := bytes.Index(raw, []byte("Hub-Part: manifest"))
	if _, err := backup.Receive(bytes.NewReader(raw[:i]), boundary, cut); !errors.Is(err, backup.ErrIncomplete) {
		t.Fatalf("cut body: %v", err)
	}
	if _, err := os.Stat(cut); !os.IsNotExist(err) {
		t.Fatalf("a cut backup left %s: %v", cut, err)
	}
	parent, _ := os.ReadDir(filepath.Dir(cut))
	if len(parent) != 0 {
		t.Fatalf("a cut backup left %v", parent)
	}

	dir := filepath.Join(t.TempDir(), "b")
	m, err := backup.Receive(bytes.NewReader(raw), boundary, dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := backup.Receive(bytes.NewReader(raw), boundary, dir); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("a second backup into the same folder: %v", err)
	}

	// A damaged snapshot is found before anything is written.
	snap := filepath.Join(dir, filepath.FromSlash(m.Streams[0].File))
	b := hubtest.ReadFile(t, snap)
	b[len(b)/2] ^= 0xff
	if err := os.WriteFile(snap, b, 0o600); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(t.TempDir(), "data")
	if _, err := backup.Restore(t.Context(), dir, data, nil); err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Fatalf("restore of a damaged backup: %v", err)
	}
	if _, err := os.Stat(data); !os.IsNotExist(err) {
		t.Fatalf("a refused restore wrote %s", data)
	}

	// A manifest naming a path outside the folder is refused.
	var mf map[string]any
	_ = json.Unmarshal(hubtest.ReadFile(t, filepath.Join(dir, backup.ManifestFile)), &mf)
	mf["streams"].([]any)[0].(map[string]any)["name"] = "../../etc"
	evil, _ := json.Marshal(mf)
	if err := os.WriteFile(filepath.Join(dir, backup.ManifestFile), evil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := backup.ReadManifest(dir); err == nil {
		t.Fatal("a manifest naming ../../etc was accepted")
	}
}
