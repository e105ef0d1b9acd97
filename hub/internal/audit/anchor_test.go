package audit_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jobtech-dev/datahub/hub/internal/audit"
)

func TestAnchorerPublishesAndNeverHidesABreak(t *testing.T) {
	ts := startServer(t, t.TempDir())
	key := newKey(t)
	l := open(t, ts.js, audit.Tamperable(), audit.WithAnchorKey(key))
	file := filepath.Join(t.TempDir(), "anchors", "anchors.ndjson")
	var logged strings.Builder
	a, err := audit.NewAnchorer(l, audit.AnchorerOptions{Hub: "hub-test", File: file, Logger: slog.New(slog.NewTextHandler(&logged, nil))})
	if err != nil {
		t.Fatal(err)
	}
	var hooked []audit.Anchor
	a.AddSink(audit.AnchorFunc(func(_ context.Context, an audit.Anchor) error { hooked = append(hooked, an); return nil }))
	if _, ok, err := a.Publish(t.Context()); ok || err != nil {
		t.Fatalf("anchor of an empty log: %v %v", ok, err)
	}
	es := appendN(t, l, 3)
	an, ok, err := a.Publish(t.Context())
	if err != nil || !ok || an.Seq != 3 || an.Head != es[2].Hash || an.Hub != "hub-test" {
		t.Fatalf("anchor %+v %v %v", an, ok, err)
	}
	if _, ok, _ := a.Publish(t.Context()); ok {
		t.Fatal("anchored again without a change")
	}
	appendN(t, l, 1)
	if err := a.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	// Three places: the file, the log line, the hook.
	last, skipped, err := audit.ReadLastAnchor(file, "")
	if err != nil || skipped != 0 || last.Seq != 4 {
		t.Fatalf("anchor file: last %+v, skipped %d, %v", last, skipped, err)
	}
	if fi, _ := os.Stat(file); fi.Mode().Perm() != 0o600 {
		t.Fatalf("anchor file mode %o", fi.Mode().Perm())
	}
	if len(hooked) != 2 || hooked[1] != last {
		t.Fatalf("hook got %+v", hooked)
	}
	lines := strings.Split(strings.TrimSpace(logged.String()), "\n")
	if fromLog, ok := audit.ParseAnchorLine(lines[len(lines)-1]); !ok || fromLog != last {
		t.Fatalf("log line %q does not carry the anchor", lines[len(lines)-1])
	}
	wantOK(t, verify(t, l, audit.Against(last)), 4)

	// The stream deleted and started again: the next anchorer (a restart)
	// reads the last anchor from the file, and will not anchor the new
	// chain over it until the break is sealed.
	if err := ts.js.DeleteStream(t.Context(), audit.StreamName); err != nil {
		t.Fatal(err)
	}
	l = open(t, ts.js, audit.Tamperable(), audit.WithAnchorKey(key))
	appendN(t, l, 2)
	a, err = audit.NewAnchorer(l, audit.AnchorerOptions{Hub: "hub-test", File: file})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := a.Last(); got != last {
		t.Fatalf("anchorer read %+v from the file, want %+v", got, last)
	}
	if _, _, err := a.Publish(t.Context()); !errors.Is(err, audit.ErrDiverged) || !strings.Contains(err.Error(), "deleted and started again") {
		t.Fatalf("anchoring a replaced log: %v, want ErrDiverged naming the deletion", err)
	}
	r := verify(t, l, audit.Against(last))
	wantProblems(t, r, "deleted@4")
	if _, _, err := l.Seal(t.Context(), "audit stream lost with the old volume", "admin", &last); err != nil {
		t.Fatal(err)
	}
	if an, ok, err := a.Publish(t.Context()); err != nil || !ok || an.Seq != 3 {
		t.Fatalf("anchor after the seal: %+v %v %v", an, ok, err)
	}
	r = verify(t, l, audit.Against(last))
	wantProblems(t, r)
	if r.Anchor.Status != audit.AnchorSealed || len(r.Sealed) != 1 {
		t.Fatalf("old anchor after the seal: %+v", r)
	}
}

func TestVerifyRefusesAnAnchorOfAnotherKey(t *testing.T) {
	ts := startServer(t, t.TempDir())
	l := open(t, ts.js, audit.WithAnchorKey(newKey(t)))
	appendN(t, l, 2)
	other := open(t, ts.js, audit.WithAnchorKey(newKey(t)))
	a, err := audit.NewAnchorer(other, audit.AnchorerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	an, _, err := a.Publish(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	wantProblems(t, verify(t, l, audit.Against(an)), "anchor@2")
	an.Seq = 1 // edited: the signature no longer holds
	wantProblems(t, verify(t, other, audit.Against(an)), "anchor@1")
}

func TestReadLastAnchorSkipsWhatIsNotAValidAnchor(t *testing.T) {
	ts := startServer(t, t.TempDir())
	key := newKey(t)
	l := open(t, ts.js, audit.WithAnchorKey(key))
	appendN(t, l, 1)
	a, _ := audit.NewAnchorer(l, audit.AnchorerOptions{})
	an, _, err := a.Publish(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(an)
	forged := an
	forged.Seq = 9
	fb, _ := json.Marshal(forged)
	text := `time=2026-11-30T10:00:00Z level=INFO msg="audit anchor" seq=1 anchor="` + strings.ReplaceAll(string(b), `"`, `\"`) + `"`
	jsonLog, _ := json.Marshal(map[string]any{"time": "2026-11-30T10:00:00Z", "msg": "audit anchor", "anchor": string(b)})
	for _, line := range []string{string(b), text, "Nov 30 10:00:00 vm hub[12]: " + string(jsonLog)} {
		if got, ok := audit.ParseAnchorLine(line); !ok || got != an {
			t.Errorf("ParseAnchorLine(%q) = %+v %v", line, got, ok)
		}
	}
	pub, _ := key.PublicKey()
	file := filepath.Join(t.TempDir(), "anchors.ndjson")
	if err := os.WriteFile(file, []byte(string(b)+"\n"+string(fb)+"\n{\"hub\":\"hu"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, skipped, err := audit.ReadLastAnchor(file, pub)
	if err != nil || got != an || skipped != 2 {
		t.Fatalf("last anchor %+v, skipped %d, %v: want the valid one, skipping the forged and the torn lines", got, skipped, err)
	}
	if _, _, err := audit.ReadLastAnchor(filepath.Join(t.TempDir(), "none"), pub); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
}

func TestAnchorKeyCreatedOnceAndKeptPrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hub-audit", "anchor.nk")
	kp, created, err := audit.LoadOrCreateKey(path)
	if err != nil || !created {
		t.Fatalf("create: %v %v", created, err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file %v %v, want mode 0600", fi, err)
	}
	again, created, err := audit.LoadOrCreateKey(path)
	p1, _ := kp.PublicKey()
	p2, _ := again.PublicKey()
	if err != nil || created || p1 != p2 {
		t.Fatalf("second load: created %v, same key %v, %v", created, p1 == p2, err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := audit.LoadOrCreateKey(path); !errors.Is(err, audit.ErrInvalidKey) || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("world-readable key: %v", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("not a seed\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := audit.LoadOrCreateKey(path); !errors.Is(err, audit.ErrInvalidKey) || !strings.Contains(err.Error(), "anchor.nk:1") {
		t.Fatalf("garbage key file: %v", err)
	}
}
