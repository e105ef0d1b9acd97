package main_test

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jobtech-dev/datahub/hub/internal/hubtest"
)

// auditDir is the audit stream's folder in a hub's data dir.
func auditDir(data string) string {
	return filepath.Join(data, "jetstream", "jetstream", "$G", "streams", "AUDIT")
}

// lastBlock is the audit stream's last message block file.
func lastBlock(t *testing.T, data string) string {
	t.Helper()
	blks, _ := filepath.Glob(filepath.Join(auditDir(data), "msgs", "*.blk"))
	if len(blks) == 0 {
		t.Fatal("no audit message block")
	}
	return blks[len(blks)-1]
}

// lastRecord is the offset of the last message record in a block. Each
// record starts with its length (4 bytes, little endian, the top bit
// flagging headers); the records follow each other to the end.
func lastRecord(t *testing.T, b []byte) int {
	t.Helper()
	off, last := 0, -1
	for off+4 <= len(b) {
		rl := int(binary.LittleEndian.Uint32(b[off:]) &^ (1 << 31))
		if rl < 22 || off+rl > len(b) {
			t.Fatalf("block does not parse at offset %d (record length %d of %d bytes)", off, rl, len(b))
		}
		last, off = off, off+rl
	}
	if last < 0 || off != len(b) {
		t.Fatalf("block does not parse (%d bytes)", len(b))
	}
	return last
}

// verifyCLI runs hub audit verify and fails the test when it takes long.
func verifyCLI(t *testing.T, h *hubProc, data string, args ...string) (string, int) {
	t.Helper()
	start := time.Now()
	out, errOut, code := run(t, nil, append([]string{"audit", "verify", "--hub-url", h.httpURL, "--data", data}, args...)...)
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("audit verify took %s", d)
	}
	return out + errOut, code
}

// TestAuditTamperingOnDiskIsReported damages the audit stream on disk
// between restarts, as someone with the data dir could, and expects verify
// to say what happened, at once, and an admin's seal to be the way forward
// that keeps the records and the evidence.
func TestAuditTamperingOnDiskIsReported(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		tamper func(t *testing.T, data string)
		want   []string
	}{
		{
			name: "audit stream folder deleted",
			tamper: func(t *testing.T, data string) {
				if err := os.RemoveAll(auditDir(data)); err != nil {
					t.Fatal(err)
				}
			},
			// The restart itself writes a damage.found entry (the hub's
			// integrity record sees the audit stream's loss), so the log
			// verify finds was started again after the deletion.
			want: []string{"[deleted]", "the log was deleted and started again", "the anchored entries 1 to 4 are gone", "anchor: seq 4"},
		},
		{
			name: "last entry cut with the index file",
			tamper: func(t *testing.T, data string) {
				blk := lastBlock(t, data)
				b, err := os.ReadFile(blk)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(blk, b[:lastRecord(t, b)], 0o600); err != nil {
					t.Fatal(err)
				}
				if err := os.Remove(filepath.Join(auditDir(data), "msgs", "index.db")); err != nil {
					t.Fatal(err)
				}
			},
			want: []string{"[truncated]", "the log was cut back before the anchored entry 4 and written again", "anchor: seq 4"},
		},
		{
			name: "last entry edited in place",
			tamper: func(t *testing.T, data string) {
				blk := lastBlock(t, data)
				b, err := os.ReadFile(blk)
				if err != nil {
					t.Fatal(err)
				}
				i := bytes.LastIndex(b, []byte(`"subject":"jobbland"`))
				if i < lastRecord(t, b) {
					t.Fatal("the last entry is not jobbland's creation")
				}
				copy(b[i:], `"subject":"jobblanD"`)
				if err := os.WriteFile(blk, b, 0o600); err != nil {
					t.Fatal(err)
				}
			},
			want: []string{"first bad entry: seq 4", "entry 4 cannot be read", "anchor: seq 4"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			data := t.TempDir()
			h := serve(t, data)
			common := []string{"--hub-url", h.httpURL, "--data", data}
			ad := filepath.Join(hubtest.SchemasDir(), "jobads", "examples", "valid", "small-ad.json")
			for _, args := range [][]string{
				{"actor", "create", "jobfinder", "--out", filepath.Join(t.TempDir(), "a.nk")},
				{"actor", "create", "jobbland", "--out", filepath.Join(t.TempDir(), "b.nk")},
				{"publish", "--dataset", "jobads", ad},
			} {
				if out, errOut, code := run(t, nil, append(args, common...)...); code != 0 {
					t.Fatalf("%v: %d %s%s", args, code, out, errOut)
				}
			}
			if out, code := verifyCLI(t, h, data); code != 0 || !strings.Contains(out, "intact: 4 entries") {
				t.Fatalf("verify before: %d\n%s", code, out)
			}
			h.stop(t) // anchors the head: entry 4 (the start applied datasets and policies: entries 1 and 2)
			anchors, err := os.ReadFile(filepath.Join(data+"-audit", "anchors.ndjson"))
			if err != nil || !bytes.Contains(anchors, []byte(`"seq":4`)) {
				t.Fatalf("anchor file beside the data dir: %v\n%s", err, anchors)
			}

			tc.tamper(t, data)
			h = serve(t, data)
			out, code := verifyCLI(t, h, data)
			for _, w := range tc.want {
				if code != 1 || !strings.Contains(out, w) {
					t.Fatalf("verify after the damage: exit %d, want 1 and %q in:\n%s", code, w, out)
				}
			}
			t.Logf("verify reports:\n%s", out)

			// The way forward: seal, keep going, restart: every record is
			// there and the chain verifies, the break listed as sealed.
			common = []string{"--hub-url", h.httpURL, "--data", data}
			out, errOut, code := run(t, nil, append([]string{"audit", "seal", "--reason", "restored after the test's damage"}, common...)...)
			if code != 0 || !strings.Contains(out, "sealed at seq") || !strings.Contains(out, "anchored: seq") {
				t.Fatalf("seal: exit %d\n%s%s", code, out, errOut)
			}
			if out, _, code := run(t, nil, append([]string{"actor", "create", "matchwise", "--out", filepath.Join(t.TempDir(), "c.nk")}, common...)...); code != 0 {
				t.Fatalf("actor create after the seal: %s", out)
			}
			h.stop(t)
			if !strings.Contains(h.stderr.String(), "audit log does not pass through its last anchor") {
				t.Errorf("the hub did not log the broken anchor at start:\n%s", h.stderr)
			}
			h = serve(t, data)
			common = []string{"--hub-url", h.httpURL, "--data", data}
			out, code = verifyCLI(t, h, data)
			if code != 0 || !strings.Contains(out, "audit log intact") || !strings.Contains(out, "SEALED break") || !strings.Contains(out, "restored after the test's damage") {
				t.Fatalf("verify after the seal and a restart: exit %d\n%s", code, out)
			}
			if out, _, code := run(t, nil, append([]string{"read", "--dataset", "jobads"}, common...)...); code != 0 || len(envelopes(t, out)) != 1 {
				t.Fatalf("records after the audit damage: %s", out)
			}
			h.stop(t)
		})
	}
}
