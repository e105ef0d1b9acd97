package outbox

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// openT opens an outbox in dir and closes it when the test ends.
func openT(t *testing.T, dir string, opts ...Option) *Outbox {
	t.Helper()
	o, err := Open(dir, opts...)
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	t.Cleanup(func() { o.Close() })
	return o
}

// entry is the i-th test entry; its data is derived from its id so a read
// can be checked on its own.
func entry(i int) Entry {
	id := fmt.Sprintf("rec-%d", i)
	return Entry{Dataset: "job-ads", ID: id, Data: dataFor(id, 40+i%50)}
}

func dataFor(id string, n int) []byte {
	b := make([]byte, 0, n+len(id))
	for len(b) < n {
		b = append(b, id...)
		b = append(b, ' ')
	}
	return b
}

func appendT(t *testing.T, o *Outbox, e Entry) uint64 {
	t.Helper()
	seq, err := o.Append(context.Background(), e)
	if err != nil {
		t.Fatalf("Append(%s): %v", e.ID, err)
	}
	return seq
}

// appendN appends entries from..to-1 and returns their sequence numbers.
func appendN(t *testing.T, o *Outbox, from, to int) []uint64 {
	t.Helper()
	var seqs []uint64
	for i := from; i < to; i++ {
		seqs = append(seqs, appendT(t, o, entry(i)))
	}
	return seqs
}

func nextT(t *testing.T, o *Outbox) Item {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	it, err := o.Next(ctx)
	if err != nil {
		t.Fatalf("Next: %v", err)
	}
	return it
}

// drain reads until Next has nothing for a short while.
func drain(t *testing.T, o *Outbox) []Item {
	t.Helper()
	var items []Item
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		it, err := o.Next(ctx)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			return items
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		items = append(items, it)
	}
}

func seqsOf(items []Item) []uint64 {
	s := make([]uint64, len(items))
	for i, it := range items {
		s[i] = it.Seq
	}
	return s
}

func seqRange(from, to uint64) []uint64 {
	var s []uint64
	for i := from; i <= to; i++ {
		s = append(s, i)
	}
	return s
}
