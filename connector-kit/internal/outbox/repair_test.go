package outbox

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// idsOf returns the ids of items.
func idsOf(items []Item) []string {
	var ids []string
	for _, it := range items {
		ids = append(ids, it.ID)
	}
	return ids
}

// wantIDs is the ids of entries 0..n-1 without the skipped ones.
func wantIDs(n int, skip ...int) []string {
	var ids []string
	for i := range n {
		if !slices.Contains(skip, i) {
			ids = append(ids, entry(i).ID)
		}
	}
	return ids
}

func TestCheckAndRepair(t *testing.T) {
	const n = 8
	tests := []struct {
		name   string
		opts   []Option
		damage func(t *testing.T, dir string, segs []*segment)
		lost   []int  // entries lost
		first  uint64 // the damage's FirstSeq, LastSeq
		last   uint64
		id     string // readable id of the lost record, if any
	}{
		{"flipped data byte in the middle", nil, func(t *testing.T, dir string, segs []*segment) {
			flipByte(t, segs[0].path, offsetOf(3)+frameLen(3)-3)
		}, []int{3}, 4, 4, "rec-3"},
		{"flipped length in the middle", nil, func(t *testing.T, dir string, segs []*segment) {
			flipByte(t, segs[0].path, offsetOf(2)+1)
		}, []int{2}, 3, 3, ""},
		{"zeros over two records", nil, func(t *testing.T, dir string, segs []*segment) {
			b, _ := os.ReadFile(segs[0].path)
			clear(b[offsetOf(4)+3 : offsetOf(6)-2])
			os.WriteFile(segs[0].path, b, 0o600)
		}, []int{4, 5}, 5, 6, ""},
		{"end of a segment that is not the last", []Option{WithSegmentBytes(300)}, func(t *testing.T, dir string, segs []*segment) {
			if len(segs) < 3 {
				t.Fatalf("want several segments, got %d", len(segs))
			}
			fi, _ := os.Stat(segs[0].path)
			os.Truncate(segs[0].path, fi.Size()-10)
		}, nil, 0, 0, ""}, // filled in below: the last record of segment 1
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			segs := writeRecords(t, dir, n, tt.opts...)
			if tt.lost == nil { // the last record of the first segment
				rest := segs[1].first - 1
				tt.lost, tt.first, tt.last = []int{int(rest) - 1}, rest, rest
			}
			tt.damage(t, dir, segs)
			_, err := Open(dir, tt.opts...)
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Open on damage = %v, want ErrCorrupt", err)
			}

			rep, err := Check(dir)
			if err != nil {
				t.Fatal(err)
			}
			if !rep.Damaged() || len(rep.Damage) != 1 || rep.Intact != n-len(tt.lost) {
				t.Fatalf("Check = %+v, want one damaged span and %d intact records", rep, n-len(tt.lost))
			}
			d := rep.Damage[0]
			if d.FirstSeq != tt.first || d.LastSeq != tt.last || d.Acked {
				t.Fatalf("damage %+v, want records %d to %d", d, tt.first, tt.last)
			}
			if tt.id != "" && (len(d.Readable) != 1 || d.Readable[0].ID != tt.id) {
				t.Fatalf("damage names %+v, want id %s", d.Readable, tt.id)
			}

			var logs bytes.Buffer
			res, err := Repair(dir, append(tt.opts, WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))...)
			if err != nil {
				t.Fatal(err)
			}
			if res.Kept != n-len(tt.lost) || len(res.Files) != 2 {
				t.Fatalf("Repair = %+v", res)
			}
			// The quarantine holds the damaged bytes exactly, beside the outbox.
			if filepath.Dir(res.Quarantine) != filepath.Dir(dir) {
				t.Fatalf("quarantine %s is not beside %s", res.Quarantine, dir)
			}
			got, _ := os.ReadFile(res.Files[0])
			if int64(len(got)) != d.Length {
				t.Fatalf("quarantined %d bytes, want %d", len(got), d.Length)
			}
			report, _ := os.ReadFile(res.Files[1])
			if !strings.Contains(string(report), d.Reason) {
				t.Fatalf("report %s", report)
			}

			o := openT(t, dir, tt.opts...)
			items := drain(t, o)
			if ids := idsOf(items); !slices.Equal(ids, wantIDs(n, tt.lost...)) {
				t.Fatalf("after repair: %v, want %v", ids, wantIDs(n, tt.lost...))
			}
			for _, it := range items {
				var i int
				for ; entry(i).ID != it.ID; i++ {
				}
				if !bytes.Equal(it.Data, entry(i).Data) || it.Dataset != entry(i).Dataset {
					t.Fatalf("record %s changed by the repair", it.ID)
				}
			}
			if seqs := seqsOf(items); !slices.Equal(seqs, seqRange(1, uint64(len(items)))) {
				t.Fatalf("seqs after repair %v", seqs)
			}
			// Appends continue after the repaired records.
			if seq := appendT(t, o, entry(50)); seq != uint64(len(items)+1) {
				t.Fatalf("append after repair = seq %d", seq)
			}
		})
	}
}

func TestRepairKeepsTheAckedFloor(t *testing.T) {
	dir := t.TempDir()
	o := openT(t, dir)
	appendN(t, o, 0, 6)
	for range 3 {
		if err := o.Ack(nextT(t, o).Seq); err != nil {
			t.Fatal(err)
		}
	}
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
	segs, _ := listSegments(dir)
	flipByte(t, segs[0].path, offsetOf(1)+frameLen(1)-2) // an acked record
	flipByte(t, segs[0].path, offsetOf(4)+frameLen(4)-2) // a waiting one
	rep, err := Check(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Damage) != 2 || !rep.Damage[0].Acked || rep.Damage[1].Acked || rep.Floor != 3 || rep.Intact != 2 {
		t.Fatalf("Check = %+v", rep)
	}
	if !strings.Contains(rep.Damage[0].Lost(), "already forwarded") {
		t.Fatalf("acked damage described as %q", rep.Damage[0].Lost())
	}
	if _, err := Repair(dir); err != nil {
		t.Fatal(err)
	}
	o = openT(t, dir)
	if ids := idsOf(drain(t, o)); !slices.Equal(ids, []string{"rec-3", "rec-5"}) {
		t.Fatalf("after repair: %v", ids)
	}
	if st := o.Stats(); st.AckedFloor != 3 || st.LastSeq != 5 {
		t.Fatalf("stats after repair %+v", st)
	}
}

func TestRepairOfADamagedFloorResendsEverything(t *testing.T) {
	dir := t.TempDir()
	writeRecords(t, dir, 4)
	if err := os.WriteFile(filepath.Join(dir, floorFile), []byte("garbage!"), 0o600); err != nil {
		t.Fatal(err)
	}
	rep, err := Check(dir)
	if err != nil || !rep.FloorDamaged || rep.Intact != 4 {
		t.Fatalf("Check = %+v, %v", rep, err)
	}
	if _, err := Repair(dir); err != nil {
		t.Fatal(err)
	}
	o := openT(t, dir)
	if ids := idsOf(drain(t, o)); !slices.Equal(ids, wantIDs(4)) {
		t.Fatalf("after repair: %v", ids)
	}
}

func TestCheckOfAHealthyOutbox(t *testing.T) {
	dir := t.TempDir()
	writeRecords(t, dir, 5, WithSegmentBytes(200))
	rep, err := Check(dir)
	if err != nil || rep.Damaged() || rep.TornTail != nil || rep.Intact != 5 || rep.Segments < 2 {
		t.Fatalf("Check = %+v, %v", rep, err)
	}
	res, err := Repair(dir)
	if err != nil || res.Quarantine != "" {
		t.Fatalf("Repair of a healthy outbox = %+v, %v", res, err)
	}
	if _, err := os.Stat(dir + ".quarantine"); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("a healthy outbox got a quarantine folder")
	}
	o := openT(t, dir)
	if _, err := Check(dir); !errors.Is(err, ErrLocked) {
		t.Fatalf("Check of an open outbox = %v, want ErrLocked", err)
	}
	if _, err := Repair(dir); !errors.Is(err, ErrLocked) {
		t.Fatalf("Repair of an open outbox = %v, want ErrLocked", err)
	}
	o.Close()
}

// A torn tail is cut at Open by itself; the log names the record lost.
func TestTornTailNamesTheLostRecord(t *testing.T) {
	const n = 4
	dir := t.TempDir()
	segs := writeRecords(t, dir, n)
	os.Truncate(segs[0].path, offsetOf(n-1)+frameLen(n-1)-7)
	rep, err := Check(dir)
	if err != nil || rep.Damaged() || rep.TornTail == nil || rep.Intact != n-1 {
		t.Fatalf("Check = %+v, %v", rep, err)
	}
	if l := rep.TornTail.Readable; len(l) != 1 || l[0].ID != entry(n-1).ID || l[0].Seq != n {
		t.Fatalf("torn tail names %+v", l)
	}
	var logs bytes.Buffer
	openT(t, dir, WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	if !strings.Contains(logs.String(), "id "+entry(n-1).ID) {
		t.Fatalf("the cut does not name the lost record: %s", logs.String())
	}

	// A tail torn inside the header cannot name its record, and says so.
	dir = t.TempDir()
	segs = writeRecords(t, dir, n)
	os.Truncate(segs[0].path, offsetOf(n-1)+5)
	logs.Reset()
	openT(t, dir, WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	if !strings.Contains(logs.String(), "cannot be known: 5 bytes") {
		t.Fatalf("log of a torn header: %s", logs.String())
	}
}

// A crash during a repair leaves the old outbox (not committed) or the
// repaired one (committed): Open finishes or discards it.
func TestRepairSurvivesACrash(t *testing.T) {
	for _, committed := range []bool{false, true} {
		dir := t.TempDir()
		segs := writeRecords(t, dir, 6, WithSegmentBytes(250))
		flipByte(t, segs[0].path, offsetOf(1)+frameLen(1)-2)
		rep, err := Check(dir)
		if err != nil {
			t.Fatal(err)
		}
		if err := rewrite(dir, rep, 250); err != nil {
			t.Fatal(err)
		}
		if !committed {
			os.Remove(filepath.Join(dir, repairDir, repairCommit))
			if _, err := Open(dir); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("uncommitted repair: Open = %v, want the old damage", err)
			}
			if _, err := os.Stat(filepath.Join(dir, repairDir)); !errors.Is(err, os.ErrNotExist) {
				t.Fatal("uncommitted repair not discarded")
			}
			continue
		}
		// Crash halfway through the switch: one new segment moved in.
		mark, _ := os.ReadFile(filepath.Join(dir, repairDir, repairCommit))
		first := strings.Fields(string(mark))[0]
		if err := os.Rename(filepath.Join(dir, repairDir, first), filepath.Join(dir, first)); err != nil {
			t.Fatal(err)
		}
		o := openT(t, dir)
		if ids := idsOf(drain(t, o)); !slices.Equal(ids, wantIDs(6, 1)) {
			t.Fatalf("after a crash during the switch: %v", ids)
		}
	}
}
