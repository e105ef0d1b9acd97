package outbox

import (
	"context"
	"sync"
	"testing"
	"time"
)

// With WithEarlyNext a record is handed out while its fsync is under way,
// may be acked then, and the floor on disk still never passes the records
// on disk: a crash before the fsync leaves an outbox that opens.
func TestEarlyNextBeforeFsync(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	o := openT(t, dir, WithEarlyNext())
	release := make(chan struct{})
	o.beforeSync = func() { <-release }
	var once sync.Once
	open := func() { once.Do(func() { close(release) }) }
	t.Cleanup(open) // before Close, which waits for the fsync

	appended := make(chan error, 1)
	go func() {
		_, err := o.Append(context.Background(), entry(1))
		appended <- err
	}()
	it := nextT(t, o)
	if it.Seq != 1 || it.ID != entry(1).ID || string(it.Data) != string(entry(1).Data) {
		t.Fatalf("early Next: %d %s, want 1 %s", it.Seq, it.ID, entry(1).ID)
	}
	select {
	case err := <-appended:
		t.Fatalf("Append returned (%v) before its fsync", err)
	default:
	}
	if err := o.Ack(it.Seq); err != nil {
		t.Fatal(err)
	}
	if err := o.persistFloor(); err != nil {
		t.Fatal(err)
	}
	if floor, err := readFloor(dir); err != nil || floor != 0 {
		t.Fatalf("floor on disk %d (%v) while record 1 is not fsynced, want 0", floor, err)
	}
	// Rewind hands out again only what is not acked.
	go func() {
		_, err := o.Append(context.Background(), entry(2))
		appended <- err
	}()
	if it := nextT(t, o); it.Seq != 2 {
		t.Fatalf("next early record %d, want 2", it.Seq)
	}
	if err := o.Rewind(); err != nil {
		t.Fatal(err)
	}
	if it := nextT(t, o); it.Seq != 2 {
		t.Fatalf("after Rewind: %d, want 2", it.Seq)
	}

	open()
	for range 2 {
		select {
		case err := <-appended:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Append did not return after its fsync")
		}
	}
	if err := o.persistFloor(); err != nil {
		t.Fatal(err)
	}
	if floor, err := readFloor(dir); err != nil || floor != 1 {
		t.Fatalf("floor on disk %d (%v) once record 1 is fsynced, want 1", floor, err)
	}
	if st := o.Stats(); st.DurableSeq != 2 || len(o.early) != 0 {
		t.Fatalf("durable %d, %d early records kept, want 2 and 0", st.DurableSeq, len(o.early))
	}
	// Records fsynced are read from their segment as before.
	if err := o.Rewind(); err != nil {
		t.Fatal(err)
	}
	if it := nextT(t, o); it.Seq != 2 || it.ID != entry(2).ID {
		t.Fatalf("after the fsync: %d %s, want 2 %s", it.Seq, it.ID, entry(2).ID)
	}
}

// Without WithEarlyNext, Next waits for the fsync.
func TestNextWaitsForFsync(t *testing.T) {
	t.Parallel()
	o := openT(t, t.TempDir())
	release := make(chan struct{})
	o.beforeSync = func() { <-release }
	var once sync.Once
	open := func() { once.Do(func() { close(release) }) }
	t.Cleanup(open)
	go func() { _, _ = o.Append(context.Background(), entry(1)) }()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if it, err := o.Next(ctx); err == nil {
		t.Fatalf("Next handed out %d before its fsync", it.Seq)
	}
	open()
	if it := nextT(t, o); it.Seq != 1 {
		t.Fatalf("Next: %d, want 1", it.Seq)
	}
}
