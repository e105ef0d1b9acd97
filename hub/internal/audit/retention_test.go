package audit_test

import (
	"errors"
	"testing"
	"time"

	"github.com/jobtech-dev/datahub/hub/internal/audit"
)

// streamFirst is the audit stream's first sequence.
func streamFirst(t *testing.T, ts *testServer) uint64 {
	t.Helper()
	s, err := ts.js.Stream(t.Context(), audit.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return info.State.FirstSeq
}

// cutAfter appends n entries and returns a time after them.
func cutAfter(t *testing.T, l *audit.Log, n int) time.Time {
	t.Helper()
	appendN(t, l, n)
	time.Sleep(2 * time.Millisecond) // entry times are the clock's: step past the last
	cut := time.Now()
	time.Sleep(2 * time.Millisecond)
	return cut
}

func TestRetentionTrimsUnderASignedCheckpoint(t *testing.T) {
	dir := t.TempDir()
	ts := startServer(t, dir)
	key := newKey(t)
	l := open(t, ts.js, audit.WithAnchorKey(key)) // DenyPurge and DenyDelete on, as in the hub
	if _, err := open(t, ts.js).Trim(t.Context(), time.Now()); !errors.Is(err, audit.ErrNoKey) {
		t.Fatalf("trim without a key: %v", err)
	}
	cut := cutAfter(t, l, 5)
	appendN(t, l, 3)
	cp, err := l.Trim(t.Context(), cut)
	if err != nil {
		t.Fatal(err)
	}
	if cp.Seq != 9 || cp.Kind != audit.KindAuditCheckpoint || streamFirst(t, ts) != 6 {
		t.Fatalf("checkpoint %+v, stream starts at %d; want the checkpoint at 9 and the stream from 6", cp, streamFirst(t, ts))
	}
	r := verify(t, l)
	wantProblems(t, r)
	if r.Checkpoint == nil || r.Checkpoint.Seq != 9 || r.Checkpoint.TrimmedTo != 5 || r.Checkpoint.Removed != 5 || r.FirstSeq != 6 || r.Entries != 4 {
		t.Fatalf("report %+v, checkpoint %+v", r, r.Checkpoint)
	}
	if again, err := l.Trim(t.Context(), cut); err != nil || again.Seq != 0 {
		t.Fatalf("second trim with nothing older: %+v %v", again, err)
	}

	// A second trim, with every entry older than its limit, keeps the last
	// one and accounts for both trims; the chain still verifies after a
	// restart, and appends go on.
	cut = cutAfter(t, l, 2)
	if cp, err = l.Trim(t.Context(), cut); err != nil || cp.Seq != 12 {
		t.Fatalf("second trim: %+v %v", cp, err)
	}
	ts.stop()
	ts = startServer(t, dir)
	l = open(t, ts.js, audit.WithAnchorKey(key))
	appendN(t, l, 1)
	r = verify(t, l)
	wantProblems(t, r)
	if r.Checkpoint.Seq != 12 || r.Checkpoint.TrimmedFrom != 1 || r.Checkpoint.TrimmedTo != 10 || r.Checkpoint.Removed != 10 || r.Entries != 3 {
		t.Fatalf("after the second trim and a restart: %+v, checkpoint %+v", r, r.Checkpoint)
	}
	// A checkpoint counts only with the anchor key's signature: checked
	// with another key, the prefix is missing.
	wantProblems(t, verify(t, open(t, ts.js, audit.WithAnchorKey(newKey(t)))), "missing@1-10", "checkpoint@12")
}

func TestRetentionKeepsUnsealedEvidenceAndCatchesAFalsePrefix(t *testing.T) {
	ts := startServer(t, t.TempDir())
	key := newKey(t)
	l := open(t, ts.js, audit.Tamperable(), audit.WithAnchorKey(key))
	cut := cutAfter(t, l, 6)
	appendN(t, l, 2)
	deleteMsg(t, ts.js, 4)
	if _, err := l.Trim(t.Context(), cut); err != nil {
		t.Fatal(err)
	}
	// Cut at entry 3, the last one before the gap: the gap is still there
	// to be seen (and sealed).
	if f := streamFirst(t, ts); f != 3 {
		t.Fatalf("stream starts at %d, want 3", f)
	}
	wantProblems(t, verify(t, l), "missing@4")

	// Removing the first kept entry by hand is not covered by the
	// checkpoint.
	deleteMsg(t, ts.js, 3)
	wantProblems(t, verify(t, l), "missing@3-4")

	// Without any checkpoint, a missing prefix is missing.
	ts2 := startServer(t, t.TempDir())
	l2 := open(t, ts2.js, audit.Tamperable(), audit.WithAnchorKey(key))
	appendN(t, l2, 4)
	deleteMsg(t, ts2.js, 1)
	deleteMsg(t, ts2.js, 2)
	wantProblems(t, verify(t, l2), "missing@1-2")
}
