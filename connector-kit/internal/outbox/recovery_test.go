package outbox

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"testing"
)

// writeRecords appends entries 0..n-1 to a fresh outbox in dir, closes it
// and returns its segments.
func writeRecords(t *testing.T, dir string, n int, opts ...Option) []*segment {
	t.Helper()
	o, err := Open(dir, opts...)
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, o, 0, n)
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
	segs, err := listSegments(dir)
	if err != nil {
		t.Fatal(err)
	}
	return segs
}

func frameLen(i int) int64 { return int64(frameHeaderSize + payloadSize(entry(i))) }

// offsetOf is the offset of entry i in a single segment holding 0..i.
func offsetOf(i int) int64 {
	var off int64
	for j := range i {
		off += frameLen(j)
	}
	return off
}

func flipByte(t *testing.T, path string, off int64) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[off] ^= 0x5a
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestRecoverTornTail(t *testing.T) {
	const n = 5
	last := offsetOf(n - 1)
	tests := []struct {
		name   string
		damage func(t *testing.T, path string)
		keep   int // records that survive
	}{
		{"last record cut in half", func(t *testing.T, path string) {
			os.Truncate(path, last+frameLen(n-1)/2)
		}, n - 1},
		{"partial header", func(t *testing.T, path string) {
			os.Truncate(path, last+3)
		}, n - 1},
		{"header only", func(t *testing.T, path string) {
			os.Truncate(path, last+frameHeaderSize)
		}, n - 1},
		{"flipped payload byte in last record", func(t *testing.T, path string) {
			flipByte(t, path, last+frameLen(n-1)-5)
		}, n - 1},
		{"flipped checksum of last record", func(t *testing.T, path string) {
			flipByte(t, path, last+5)
		}, n - 1},
		{"flipped length of last record", func(t *testing.T, path string) {
			flipByte(t, path, last)
		}, n - 1},
		{"zero-filled tail", func(t *testing.T, path string) {
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.Write(make([]byte, 4096))
			f.Close()
		}, n},
		{"last record cut in half, then zeros", func(t *testing.T, path string) {
			os.Truncate(path, last+frameLen(n-1)/2)
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.Write(make([]byte, 100))
			f.Close()
		}, n - 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			segs := writeRecords(t, dir, n)
			tt.damage(t, segs[len(segs)-1].path)

			var logs bytes.Buffer
			o := openT(t, dir, WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
			if st := o.Stats(); st.LastSeq != uint64(tt.keep) {
				t.Fatalf("last seq after recovery = %d, want %d", st.LastSeq, tt.keep)
			}
			if tt.keep < n && !strings.Contains(logs.String(), "torn tail") {
				t.Errorf("no log of the cut; logs: %s", logs.String())
			}
			items := drain(t, o)
			if got, want := seqsOf(items), seqRange(1, uint64(tt.keep)); !slices.Equal(got, want) {
				t.Fatalf("recovered %v, want %v", got, want)
			}
			for _, it := range items {
				if want := entry(int(it.Seq) - 1); it.ID != want.ID || !bytes.Equal(it.Data, want.Data) {
					t.Fatalf("seq %d = %s, want %s", it.Seq, it.ID, want.ID)
				}
			}
			// Appending continues cleanly after the cut, and survives a reopen.
			if seq := appendT(t, o, entry(99)); seq != uint64(tt.keep+1) {
				t.Fatalf("Append after recovery = %d, want %d", seq, tt.keep+1)
			}
			if err := o.Close(); err != nil {
				t.Fatal(err)
			}
			o = openT(t, dir)
			if st := o.Stats(); st.LastSeq != uint64(tt.keep+1) || st.TruncatedBytes != 0 {
				t.Fatalf("second reopen Stats = %+v", st)
			}
		})
	}
}

func TestCorruptionIsAnError(t *testing.T) {
	const n = 5
	tests := []struct {
		name   string
		opts   []Option
		damage func(t *testing.T, segs []*segment) (path string, off int64)
	}{
		{"flipped payload byte in the middle", nil, func(t *testing.T, segs []*segment) (string, int64) {
			flipByte(t, segs[0].path, offsetOf(2)+20)
			return segs[0].path, offsetOf(2)
		}},
		{"flipped checksum in the middle", nil, func(t *testing.T, segs []*segment) (string, int64) {
			flipByte(t, segs[0].path, offsetOf(1)+4)
			return segs[0].path, offsetOf(1)
		}},
		{"length in the middle runs past the end", nil, func(t *testing.T, segs []*segment) (string, int64) {
			flipByte(t, segs[0].path, offsetOf(2)+1) // adds 0x5a00 bytes
			return segs[0].path, offsetOf(2)
		}},
		{"first of two segments cut short", []Option{WithSegmentBytes(100)}, func(t *testing.T, segs []*segment) (string, int64) {
			if len(segs) < 2 {
				t.Fatalf("want several segments, got %d", len(segs))
			}
			fi, _ := os.Stat(segs[0].path)
			os.Truncate(segs[0].path, fi.Size()-10)
			return segs[0].path, -1
		}},
		{"missing segment", []Option{WithSegmentBytes(100)}, func(t *testing.T, segs []*segment) (string, int64) {
			if len(segs) < 3 {
				t.Fatalf("want several segments, got %d", len(segs))
			}
			os.Remove(segs[1].path)
			return segs[2].path, -1
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			segs := writeRecords(t, dir, n, tt.opts...)
			path, off := tt.damage(t, segs)
			o, err := Open(dir, tt.opts...)
			if err == nil {
				o.Close()
				t.Fatal("Open succeeded on corrupt data")
			}
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Open = %v, want ErrCorrupt", err)
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name %s", err, path)
			}
			if off >= 0 && !strings.Contains(err.Error(), fmt.Sprintf("offset %d:", off)) {
				t.Errorf("error %q does not give offset %d", err, off)
			}
			// Nothing was cut: the damaged file is left for a human.
			if fi, err := os.Stat(segs[0].path); err == nil && fi.Size() == 0 {
				t.Errorf("segment emptied")
			}
		})
	}
}

func TestCorruptionFoundByNext(t *testing.T) {
	dir := t.TempDir()
	o := openT(t, dir)
	appendN(t, o, 0, 3)
	segs, err := listSegments(dir)
	if err != nil {
		t.Fatal(err)
	}
	flipByte(t, segs[0].path, offsetOf(1)+15)
	if it := nextT(t, o); it.Seq != 1 {
		t.Fatalf("Next = %d, want 1", it.Seq)
	}
	if _, err := o.Next(t.Context()); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Next over damaged record = %v, want ErrCorrupt", err)
	}
}
