package outbox

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestAppendNextAck(t *testing.T) {
	o := openT(t, t.TempDir())
	seqs := appendN(t, o, 0, 10)
	if want := seqRange(1, 10); !slices.Equal(seqs, want) {
		t.Fatalf("seqs = %v, want %v", seqs, want)
	}
	if n, b := o.Pending(); n != 10 || b <= 0 {
		t.Fatalf("Pending = %d, %d; want 10, >0", n, b)
	}
	for i := range 10 {
		it := nextT(t, o)
		want := entry(i)
		if it.Seq != uint64(i+1) || it.Dataset != want.Dataset || it.ID != want.ID || !bytes.Equal(it.Data, want.Data) {
			t.Fatalf("Next = %d %s/%s, want %d %s/%s", it.Seq, it.Dataset, it.ID, i+1, want.Dataset, want.ID)
		}
		if err := o.Ack(it.Seq); err != nil {
			t.Fatalf("Ack(%d): %v", it.Seq, err)
		}
	}
	if n, b := o.Pending(); n != 0 || b != 0 {
		t.Fatalf("Pending = %d, %d; want 0, 0", n, b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := o.Next(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Next on empty outbox = %v, want deadline exceeded", err)
	}
	if st := o.Stats(); st.AckedFloor != 10 || st.LastSeq != 10 || st.DurableSeq != 10 || st.Appends != 10 {
		t.Fatalf("Stats = %+v", st)
	}
}

func TestNextWaitsForAppend(t *testing.T) {
	o := openT(t, t.TempDir())
	got := make(chan Item, 1)
	go func() {
		it, err := o.Next(context.Background())
		if err != nil {
			t.Errorf("Next: %v", err)
		}
		got <- it
	}()
	time.Sleep(20 * time.Millisecond)
	seq := appendT(t, o, entry(7))
	select {
	case it := <-got:
		if it.Seq != seq || it.ID != "rec-7" {
			t.Fatalf("Next = %d %s, want %d rec-7", it.Seq, it.ID, seq)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Next did not return after Append")
	}
}

func TestCloseUnblocksNext(t *testing.T) {
	o, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		_, err := o.Next(context.Background())
		errc <- err
	}()
	time.Sleep(20 * time.Millisecond)
	if err := o.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := <-errc; !errors.Is(err, ErrClosed) {
		t.Fatalf("Next after Close = %v, want ErrClosed", err)
	}
	if err := o.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := o.Append(context.Background(), entry(1)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Append after Close = %v, want ErrClosed", err)
	}
	if err := o.Ack(1); !errors.Is(err, ErrClosed) {
		t.Fatalf("Ack after Close = %v, want ErrClosed", err)
	}
	if err := o.Rewind(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Rewind after Close = %v, want ErrClosed", err)
	}
}

func TestAckOutOfOrder(t *testing.T) {
	tests := []struct {
		name      string
		acks      []uint64
		floor     uint64
		pending   int
		redeliver []uint64 // after Rewind
	}{
		{"in order", []uint64{1, 2, 3}, 3, 2, []uint64{4, 5}},
		{"gap", []uint64{1, 3, 5}, 1, 2, []uint64{2, 4}},
		{"reverse fills gap", []uint64{5, 4, 3, 2, 1}, 5, 0, nil},
		{"duplicates", []uint64{2, 2, 1, 1, 3}, 3, 2, []uint64{4, 5}},
		{"none", nil, 0, 5, []uint64{1, 2, 3, 4, 5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := openT(t, t.TempDir())
			appendN(t, o, 0, 5)
			for range 5 {
				nextT(t, o)
			}
			for _, s := range tt.acks {
				if err := o.Ack(s); err != nil {
					t.Fatalf("Ack(%d): %v", s, err)
				}
			}
			st := o.Stats()
			if st.AckedFloor != tt.floor || st.Pending != tt.pending {
				t.Fatalf("floor, pending = %d, %d; want %d, %d", st.AckedFloor, st.Pending, tt.floor, tt.pending)
			}
			var want int64
			for _, it := range tt.redeliver {
				want += int64(frameHeaderSize + payloadSize(entry(int(it)-1)))
			}
			if st.PendingBytes != want {
				t.Fatalf("PendingBytes = %d, want %d", st.PendingBytes, want)
			}
			if err := o.Rewind(); err != nil {
				t.Fatal(err)
			}
			if got := seqsOf(drain(t, o)); !slices.Equal(got, tt.redeliver) {
				t.Fatalf("after Rewind got %v, want %v", got, tt.redeliver)
			}
		})
	}
}

func TestAckUnknown(t *testing.T) {
	o := openT(t, t.TempDir())
	appendN(t, o, 0, 3)
	nextT(t, o)
	for _, seq := range []uint64{0, 2, 3, 99} {
		if err := o.Ack(seq); !errors.Is(err, ErrUnknownSeq) {
			t.Errorf("Ack(%d) = %v, want ErrUnknownSeq", seq, err)
		}
	}
	if err := o.Ack(1); err != nil {
		t.Fatalf("Ack(1): %v", err)
	}
}

func TestRewindRedeliversInOrder(t *testing.T) {
	o := openT(t, t.TempDir())
	appendN(t, o, 0, 6)
	// A forwarder sends 1, 2, 3; the hub stores 1, then the send of 2 fails.
	for range 3 {
		nextT(t, o)
	}
	if err := o.Ack(1); err != nil {
		t.Fatal(err)
	}
	if err := o.Rewind(); err != nil {
		t.Fatal(err)
	}
	var got []uint64
	for range 5 {
		it := nextT(t, o)
		if want := entry(int(it.Seq) - 1).ID; it.ID != want {
			t.Fatalf("seq %d has id %s, want %s", it.Seq, it.ID, want)
		}
		got = append(got, it.Seq)
		if err := o.Ack(it.Seq); err != nil {
			t.Fatal(err)
		}
	}
	if want := seqRange(2, 6); !slices.Equal(got, want) {
		t.Fatalf("after Rewind got %v, want %v", got, want)
	}
	// A Rewind with everything acked hands out nothing old.
	if err := o.Rewind(); err != nil {
		t.Fatal(err)
	}
	seq := appendT(t, o, entry(6))
	if it := nextT(t, o); it.Seq != seq {
		t.Fatalf("Next = %d, want %d", it.Seq, seq)
	}
}

func TestRestartKeepsUnacked(t *testing.T) {
	dir := t.TempDir()
	o, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, o, 0, 10)
	for range 10 {
		nextT(t, o)
	}
	for _, s := range []uint64{1, 2, 3, 4, 6, 8} {
		if err := o.Ack(s); err != nil {
			t.Fatal(err)
		}
	}
	if err := o.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if floor, err := readFloor(dir); err != nil || floor != 4 {
		t.Fatalf("persisted floor = %d, %v; want 4", floor, err)
	}

	o = openT(t, dir)
	if st := o.Stats(); st.AckedFloor != 4 || st.Pending != 6 || st.LastSeq != 10 {
		t.Fatalf("after reopen Stats = %+v", st)
	}
	// Out-of-order acks above the floor are not persisted: at least once.
	items := drain(t, o)
	if got, want := seqsOf(items), seqRange(5, 10); !slices.Equal(got, want) {
		t.Fatalf("after reopen got %v, want %v", got, want)
	}
	for _, it := range items {
		if want := entry(int(it.Seq) - 1); it.ID != want.ID || !bytes.Equal(it.Data, want.Data) {
			t.Fatalf("seq %d = %s, want %s", it.Seq, it.ID, want.ID)
		}
	}
	if seq := appendT(t, o, entry(10)); seq != 11 {
		t.Fatalf("Append after reopen = %d, want 11", seq)
	}
}

func TestFloorPersistedPeriodically(t *testing.T) {
	dir := t.TempDir()
	o := openT(t, dir, WithFloorInterval(5*time.Millisecond))
	appendN(t, o, 0, 4)
	for range 3 {
		if err := o.Ack(nextT(t, o).Seq); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for o.Stats().PersistedFloor != 3 {
		if time.Now().After(deadline) {
			t.Fatalf("floor not persisted: %+v", o.Stats())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if floor, err := readFloor(dir); err != nil || floor != 3 {
		t.Fatalf("floor file = %d, %v; want 3", floor, err)
	}
}

func TestSegmentRolloverAndDeletion(t *testing.T) {
	dir := t.TempDir()
	const segBytes = 1024
	o, err := Open(dir, WithSegmentBytes(segBytes), WithFloorInterval(5*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, o, 0, 100)
	segs, err := listSegments(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(segs) < 5 {
		t.Fatalf("%d segments for 100 records at %d bytes each, want many", len(segs), segBytes)
	}
	for _, s := range segs {
		fi, err := os.Stat(s.path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() > segBytes {
			t.Errorf("%s has %d bytes, more than %d", s.path, fi.Size(), segBytes)
		}
	}
	// Read across segment boundaries, ack the first 60.
	for i := range 100 {
		it := nextT(t, o)
		if it.Seq != uint64(i+1) || it.ID != entry(i).ID {
			t.Fatalf("Next = %d %s, want %d %s", it.Seq, it.ID, i+1, entry(i).ID)
		}
		if i < 60 {
			if err := o.Ack(it.Seq); err != nil {
				t.Fatal(err)
			}
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for o.Stats().Segments == len(segs) {
		if time.Now().After(deadline) {
			t.Fatal("acked segments not deleted")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
	left, err := listSegments(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) >= len(segs) || left[0].first > 61 {
		t.Fatalf("segments left start at %d (%d of %d), want the one holding 61 first", left[0].first, len(left), len(segs))
	}
	if len(left) > 1 && left[1].first <= 61 {
		t.Fatalf("segment %s is wholly acked but kept", left[0].path)
	}

	o = openT(t, dir, WithSegmentBytes(segBytes))
	if got, want := seqsOf(drain(t, o)), seqRange(61, 100); !slices.Equal(got, want) {
		t.Fatalf("after reopen got %v, want %v", got, want)
	}
	if seq := appendT(t, o, entry(100)); seq != 101 {
		t.Fatalf("Append = %d, want 101", seq)
	}
}

func TestAllAckedKeepsSequence(t *testing.T) {
	dir := t.TempDir()
	o, err := Open(dir, WithSegmentBytes(200))
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, o, 0, 20)
	for range 20 {
		if err := o.Ack(nextT(t, o).Seq); err != nil {
			t.Fatal(err)
		}
	}
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
	o = openT(t, dir, WithSegmentBytes(200))
	if st := o.Stats(); st.Segments != 1 || st.Pending != 0 || st.LastSeq != 20 {
		t.Fatalf("Stats = %+v, want one segment, nothing pending, last seq 20", st)
	}
	if seq := appendT(t, o, entry(20)); seq != 21 {
		t.Fatalf("Append = %d, want 21", seq)
	}
}

func TestAppendErrors(t *testing.T) {
	frame := int64(frameHeaderSize + payloadSize(entry(0)))
	o := openT(t, t.TempDir(), WithMaxRecordBytes(100), WithMaxBytes(3*frame))
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name string
		ctx  context.Context
		e    Entry
		want error
	}{
		{"no dataset", context.Background(), Entry{ID: "a", Data: []byte("{}")}, ErrInvalidEntry},
		{"no id", context.Background(), Entry{Dataset: "d", Data: []byte("{}")}, ErrInvalidEntry},
		{"too large", context.Background(), Entry{Dataset: "d", ID: "a", Data: make([]byte, 100)}, ErrTooLarge},
		{"canceled", canceled, entry(0), context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := o.Append(tt.ctx, tt.e); !errors.Is(err, tt.want) {
				t.Fatalf("Append = %v, want %v", err, tt.want)
			}
		})
	}
	if st := o.Stats(); st.LastSeq != 0 {
		t.Fatalf("rejected appends used sequence numbers: %+v", st)
	}
}

func TestFull(t *testing.T) {
	e := entry(0)
	frame := int64(frameHeaderSize + payloadSize(e))
	o := openT(t, t.TempDir(), WithMaxBytes(3*frame))
	for range 3 {
		appendT(t, o, e)
	}
	if _, err := o.Append(context.Background(), e); !errors.Is(err, ErrFull) {
		t.Fatalf("Append over the limit = %v, want ErrFull", err)
	}
	// Forwarding one record makes room for one.
	if err := o.Ack(nextT(t, o).Seq); err != nil {
		t.Fatal(err)
	}
	if seq := appendT(t, o, e); seq != 4 {
		t.Fatalf("Append after Ack = %d, want 4", seq)
	}
	if _, err := o.Append(context.Background(), e); !errors.Is(err, ErrFull) {
		t.Fatalf("Append over the limit = %v, want ErrFull", err)
	}
}

func TestLocked(t *testing.T) {
	dir := t.TempDir()
	openT(t, dir)
	if o, err := Open(dir); !errors.Is(err, ErrLocked) {
		if o != nil {
			o.Close()
		}
		t.Fatalf("second Open = %v, want ErrLocked", err)
	}
}

func TestInvalidOptions(t *testing.T) {
	tests := []struct {
		name string
		opt  Option
	}{
		{"zero segment", WithSegmentBytes(0)},
		{"tiny record", WithMaxRecordBytes(1)},
		{"huge record", WithMaxRecordBytes(2 << 30)},
		{"zero max bytes", WithMaxBytes(0)},
		{"zero interval", WithFloorInterval(0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if _, err := Open(dir, tt.opt); !errors.Is(err, ErrInvalidOption) {
				t.Fatalf("Open = %v, want ErrInvalidOption", err)
			}
		})
	}
}

func TestConcurrentAppends(t *testing.T) {
	dir := t.TempDir()
	o, err := Open(dir, WithSegmentBytes(64<<10))
	if err != nil {
		t.Fatal(err)
	}
	const goroutines, per = 16, 200
	var (
		mu  sync.Mutex
		ids = make(map[uint64]string)
		wg  sync.WaitGroup
	)
	for g := range goroutines {
		wg.Go(func() {
			for i := range per {
				e := entry(g*per + i)
				seq, err := o.Append(context.Background(), e)
				if err != nil {
					t.Errorf("Append: %v", err)
					return
				}
				mu.Lock()
				if prev, dup := ids[seq]; dup {
					t.Errorf("seq %d returned for %s and %s", seq, prev, e.ID)
				}
				ids[seq] = e.ID
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	st := o.Stats()
	t.Logf("%d appends, %d fsyncs, %.1f records per fsync", st.Appends, st.Fsyncs, float64(st.Appends)/float64(st.Fsyncs))
	if st.Fsyncs >= st.Appends {
		t.Errorf("%d fsyncs for %d concurrent appends: no group commit", st.Fsyncs, st.Appends)
	}
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}

	o = openT(t, dir, WithSegmentBytes(64<<10))
	seen := make(map[uint64]bool)
	for _, it := range drain(t, o) {
		want, ok := ids[it.Seq]
		if !ok || it.ID != want || seen[it.Seq] {
			t.Fatalf("read seq %d id %s (want %q, seen %v)", it.Seq, it.ID, want, seen[it.Seq])
		}
		if !bytes.Equal(it.Data, dataFor(it.ID, len(it.Data))) {
			t.Fatalf("seq %d: data does not match id %s", it.Seq, it.ID)
		}
		seen[it.Seq] = true
	}
	if len(seen) != goroutines*per {
		t.Fatalf("read back %d records, want %d", len(seen), goroutines*per)
	}
}

func TestConcurrentAppendAndForward(t *testing.T) {
	o := openT(t, t.TempDir(), WithSegmentBytes(8<<10), WithFloorInterval(time.Millisecond))
	const goroutines, per = 8, 100
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range per {
				if _, err := o.Append(context.Background(), entry(g*per+i)); err != nil {
					t.Errorf("Append: %v", err)
					return
				}
			}
		})
	}
	last := uint64(0)
	for range goroutines * per {
		it := nextT(t, o)
		if it.Seq != last+1 {
			t.Fatalf("Next = %d after %d", it.Seq, last)
		}
		last = it.Seq
		if !strings.HasPrefix(it.ID, "rec-") || !bytes.Equal(it.Data, dataFor(it.ID, len(it.Data))) {
			t.Fatalf("seq %d: bad record %s", it.Seq, it.ID)
		}
		if err := o.Ack(it.Seq); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	if n, b := o.Pending(); n != 0 || b != 0 {
		t.Fatalf("Pending = %d, %d", n, b)
	}
}

func TestCorruptFloorFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, floorFile), []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Open = %v, want ErrCorrupt", err)
	}
}
