package audit_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nkeys"

	"github.com/jobtech-dev/datahub/hub/internal/audit"
)

// newKey is a fresh anchor key.
func newKey(t testing.TB) nkeys.KeyPair {
	t.Helper()
	kp, err := nkeys.CreateServer()
	if err != nil {
		t.Fatal(err)
	}
	return kp
}

// codes lists the problems of r as "code@seq[-to]".
func codes(r audit.Report) []string {
	var out []string
	for _, p := range r.Problems {
		s := p.Code + "@" + itoa(p.Seq)
		if p.To > 0 {
			s += "-" + itoa(p.To)
		}
		out = append(out, s)
	}
	return out
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }

func wantProblems(t *testing.T, r audit.Report, want ...string) {
	t.Helper()
	if got := codes(r); !slices.Equal(got, want) || r.OK != (len(want) == 0) {
		t.Fatalf("problems %v (ok %v), want %v; report %+v", got, r.OK, want, r)
	}
}

func TestVerifyNamesTheFirstBadEntry(t *testing.T) {
	ts := startServer(t, t.TempDir())
	l := open(t, ts.js, audit.Tamperable())
	appendN(t, l, 6)
	es := stored(t, ts.js)
	es[2].Subject = "someone-else"
	rewrite(t, ts.js, es)
	r := verify(t, l)
	wantProblems(t, r, "changed@3")
	if r.FirstBad != 3 || !strings.Contains(r.Problems[0].Message, "entry 3 (policy.apply by admin on someone-else, ") {
		t.Fatalf("first bad %d, message %q: want entry 3 named with its kind, actor and subject", r.FirstBad, r.Problems[0].Message)
	}
}

func TestSealAcknowledgesABreakAndLaterTamperingIsCaught(t *testing.T) {
	ts := startServer(t, t.TempDir())
	l := open(t, ts.js, audit.Tamperable(), audit.WithAnchorKey(newKey(t)))
	appendN(t, l, 6)
	if _, _, err := l.Seal(t.Context(), "nothing wrong", "admin", nil); !errors.Is(err, audit.ErrNothingToSeal) {
		t.Fatalf("seal of an intact log: %v, want ErrNothingToSeal", err)
	}
	deleteMsg(t, ts.js, 3)
	wantProblems(t, verify(t, l), "missing@3")
	if _, _, err := l.Seal(t.Context(), "  ", "admin", nil); !errors.Is(err, audit.ErrNoReason) {
		t.Fatalf("seal without a reason: %v", err)
	}

	seal, acked, err := l.Seal(t.Context(), "entry 3 lost in the disk failure of 2 March (ticket 4411)", "admin", nil)
	if err != nil {
		t.Fatal(err)
	}
	if seal.Seq != 7 || seal.Kind != audit.KindAuditSeal || acked.FirstBad != 3 {
		t.Fatalf("seal %+v after report %+v", seal, acked)
	}
	appendN(t, l, 2)
	r := verify(t, l)
	wantProblems(t, r)
	if len(r.Sealed) != 1 || r.Sealed[0].Seal != 7 || !strings.Contains(r.Sealed[0].Reason, "ticket 4411") ||
		len(r.Sealed[0].Problems) != 1 || r.Sealed[0].Problems[0].Seq != 3 {
		t.Fatalf("sealed breaks %+v, want entry 3 sealed at 7", r.Sealed)
	}

	// Later tampering is still caught: a further removal next to the
	// sealed gap, and one after the seal.
	deleteMsg(t, ts.js, 4)
	deleteMsg(t, ts.js, 8)
	r = verify(t, l)
	wantProblems(t, r, "missing@3-4", "missing@8")
	if len(r.Sealed) != 1 || len(r.Sealed[0].Problems) != 0 {
		t.Fatalf("the changed gap is still reported as sealed: %+v", r.Sealed)
	}
}

// A seal is only honoured with the anchor key's signature: someone who can
// write the stream can chain an entry, but cannot forge a seal.
func TestForgedSealIsNotHonoured(t *testing.T) {
	ts := startServer(t, t.TempDir())
	l := open(t, ts.js, audit.Tamperable(), audit.WithAnchorKey(newKey(t)))
	appendN(t, l, 4)
	deleteMsg(t, ts.js, 2)
	rep := verify(t, l)
	forger := open(t, ts.js, audit.Tamperable(), audit.WithAnchorKey(newKey(t)))
	if _, _, err := forger.Seal(t.Context(), "cover-up", "admin", nil); err != nil {
		t.Fatal(err)
	}
	// A hand-made one, with the right problems but no valid signature.
	b, _ := json.Marshal(map[string]any{"seal": audit.Seal{Reason: "cover-up", VerifiedTo: 6, Problems: rep.Problems, Key: "N"}, "sig": "AAAA"})
	if _, err := l.Append(t.Context(), audit.Entry{Kind: audit.KindAuditSeal, Actor: "admin", Subject: "seq 2", Detail: b}); err != nil {
		t.Fatal(err)
	}
	r := verify(t, l)
	wantProblems(t, r, "missing@2", "seal@5", "seal@6")
}

// storeDir is where the test server keeps the audit stream's blocks.
func blockFile(t *testing.T, dir string) string {
	t.Helper()
	blks, _ := filepath.Glob(filepath.Join(dir, "jetstream", "$G", "streams", audit.StreamName, "msgs", "*.blk"))
	if len(blks) != 1 {
		t.Fatalf("block files %v, want one", blks)
	}
	return blks[0]
}

// editOnDisk changes one byte of the stored entry whose subject is subject,
// as someone with the data dir would, with the server stopped.
func editOnDisk(t *testing.T, dir, subject string) {
	t.Helper()
	blk := blockFile(t, dir)
	b, err := os.ReadFile(blk)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.LastIndex(b, []byte(`"subject":"`+subject+`"`))
	if i < 0 {
		t.Fatalf("entry %s not in %s", subject, blk)
	}
	b[i+len(`"subject":"`)] = 'X'
	if err := os.WriteFile(blk, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyReportsAnEntryEditedOnDiskWithoutWaiting(t *testing.T) {
	for _, tc := range []struct {
		name    string
		subject string
		want    []string
	}{
		{"last entry", "policy-5", []string{"unreadable@6"}},
		// JetStream notices this one when it rebuilds the index at start
		// and drops it: a gap.
		{"middle entry", "policy-2", []string{"missing@3"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			ts := startServer(t, dir)
			key := newKey(t)
			appendN(t, open(t, ts.js, audit.WithAnchorKey(key)), 6)
			ts.stop()
			editOnDisk(t, dir, tc.subject)
			ts = startServer(t, dir)
			l := open(t, ts.js, audit.WithAnchorKey(key))
			start := time.Now()
			r := verify(t, l)
			if d := time.Since(start); d > 5*time.Second {
				t.Fatalf("verify took %s", d)
			}
			wantProblems(t, r, tc.want...)
			t.Logf("%s (verify took %s)", r.Problems[0].Message, time.Since(start).Round(time.Millisecond))

			// The admin's way forward: seal it; the chain goes on and a
			// restart still verifies with the evidence kept.
			if _, _, err := l.Seal(t.Context(), "block edited by hand during the 2 March incident", "admin", nil); err != nil {
				t.Fatal(err)
			}
			appendN(t, l, 1)
			ts.stop()
			ts = startServer(t, dir)
			l = open(t, ts.js, audit.WithAnchorKey(key))
			r = verify(t, l)
			wantProblems(t, r)
			if len(r.Sealed) != 1 || r.Entries != 7 {
				t.Fatalf("after seal and restart: %+v", r)
			}
			var tailed int
			if err := l.Tail(t.Context(), 0, false, func(audit.Entry) error { tailed++; return nil }); err != nil || tailed != 7 {
				t.Fatalf("tail skipping the unreadable entry: %d entries, %v", tailed, err)
			}
		})
	}
}
