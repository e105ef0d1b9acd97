package outbox

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// recordBytes is the size on disk of entries from..to-1.
func recordBytes(from, to int) int64 {
	var n int64
	for i := from; i < to; i++ {
		n += int64(frameHeaderSize + payloadSize(entry(i)))
	}
	return n
}

func fileLen(t *testing.T, path string) int64 {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

// While open, the active segment is zero-filled ahead of its records, so a
// commit overwrites blocks the file has (fdatasync, no journal commit); on
// Close it is cut back to its records.
func TestActiveSegmentIsZeroFilledAheadAndCutOnClose(t *testing.T) {
	dir := t.TempDir()
	o, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, o, 0, 20)
	segs, err := listSegments(dir)
	if err != nil || len(segs) != 1 {
		t.Fatalf("segments %v, %v", segs, err)
	}
	records := recordBytes(0, 20)
	size := fileLen(t, segs[0].path)
	if size < records+preallocBytes/2 {
		t.Fatalf("open segment is %d bytes for %d bytes of records: not preallocated", size, records)
	}
	data, err := os.ReadFile(segs[0].path)
	if err != nil {
		t.Fatal(err)
	}
	if !allZero(data[records:]) {
		t.Fatal("bytes after the records are not zeros")
	}
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
	if got := fileLen(t, segs[0].path); got != records {
		t.Fatalf("after Close the segment is %d bytes, want its %d bytes of records", got, records)
	}
	o = openT(t, dir)
	if got := seqsOf(drain(t, o)); !slices.Equal(got, seqRange(1, 20)) {
		t.Fatalf("reopened: %v", got)
	}
}

// Only the last segment has zeros after its records: a segment is cut to
// its records before the next one starts, so a scan of any earlier one
// (where zeros would be damage) finds whole records to its end.
func TestFullSegmentsHoldOnlyRecords(t *testing.T) {
	dir := t.TempDir()
	o := openT(t, dir, WithSegmentBytes(4<<10))
	appendN(t, o, 0, 200)
	segs, err := listSegments(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(segs) < 3 {
		t.Fatalf("%d segments, want several", len(segs))
	}
	for i, seg := range segs[:len(segs)-1] {
		res, err := scanSegment(seg, false)
		if err != nil {
			t.Fatalf("segment %d: %v", i, err)
		}
		if res.valid != fileLen(t, seg.path) {
			t.Fatalf("segment %d: %d bytes of records in a file of %d", i, res.valid, fileLen(t, seg.path))
		}
	}
	if last := segs[len(segs)-1]; fileLen(t, last.path) != 4<<10 {
		t.Fatalf("last segment is %d bytes, want it preallocated to the segment size %d", fileLen(t, last.path), 4<<10)
	}
}

// What a kill leaves — every fsynced record, then zeros — is neither damage
// nor a torn tail: Check says so, and Open cuts the zeros with no warning
// and hands out every record.
func TestZerosLeftByAKillAreNotATornTail(t *testing.T) {
	dir := t.TempDir()
	o := openT(t, dir)
	appendN(t, o, 0, 30)
	// The outbox as a SIGKILL now would leave it: everything appended is
	// fsynced, and the lock dies with the process.
	killed := t.TempDir()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), segmentExt) {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(killed, e.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}

	rep, err := Check(killed)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Damaged() || rep.TornTail != nil || rep.Intact != 30 {
		t.Fatalf("check: damaged %v, torn tail %+v, %d intact", rep.Damaged(), rep.TornTail, rep.Intact)
	}
	if rep.Preallocated == 0 {
		t.Fatal("check: the zeros after the records are not reported")
	}

	var logs bytes.Buffer
	o2 := openT(t, killed, WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	if strings.Contains(logs.String(), "level=WARN") {
		t.Fatalf("zeros logged as a loss: %s", logs.String())
	}
	if !strings.Contains(logs.String(), "zero-filled") {
		t.Fatalf("the cut of the zeros is not logged at debug: %s", logs.String())
	}
	if got := seqsOf(drain(t, o2)); !slices.Equal(got, seqRange(1, 30)) {
		t.Fatalf("recovered %v", got)
	}
	appendN(t, o2, 30, 35) // appends go after the records, not after the zeros
	if err := o2.Close(); err != nil {
		t.Fatal(err)
	}
	o3 := openT(t, killed)
	if got := seqsOf(drain(t, o3)); !slices.Equal(got, seqRange(1, 35)) {
		t.Fatalf("after appending again: %v", got)
	}
}
