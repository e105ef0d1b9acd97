package ingest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// fakeJS holds each publish until the test answers it.
type fakeJS struct {
	mu       sync.Mutex
	sent     []string // record ids in publish order
	inflight map[string]int
	maxIn    map[string]int
	futs     map[string]*chainedFuture // by record id, last publish
	seq      uint64
}

func newFakeJS() *fakeJS {
	return &fakeJS{inflight: map[string]int{}, maxIn: map[string]int{}, futs: map[string]*chainedFuture{}}
}

func (f *fakeJS) publish(m *nats.Msg) (jetstream.PubAckFuture, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := m.Header.Get("id")
	key := m.Subject
	f.sent = append(f.sent, id)
	f.inflight[key]++
	f.maxIn[key] = max(f.maxIn[key], f.inflight[key])
	fut := newChainedFuture(m)
	f.futs[id] = fut
	return fut, nil
}

// answer completes the publish of id, with err or stored.
func (f *fakeJS) answer(t *testing.T, id string, err error) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		f.mu.Lock()
		fut := f.futs[id]
		if fut != nil {
			delete(f.futs, id)
			f.inflight[fut.msg.Subject]--
			f.seq++
			seq := f.seq
			f.mu.Unlock()
			if err != nil {
				fut.complete(nil, err)
			} else {
				fut.complete(&jetstream.PubAck{Sequence: seq}, nil)
			}
			return
		}
		f.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("%s was never published", id)
		}
		time.Sleep(time.Millisecond)
	}
}

func (f *fakeJS) published() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.sent...)
}

func rec(subject, id string) *nats.Msg {
	return &nats.Msg{Subject: subject, Header: nats.Header{"id": {id}}}
}

// outcome waits for a future: "stored" or the error's text.
func outcome(t *testing.T, f jetstream.PubAckFuture) string {
	t.Helper()
	select {
	case <-f.Ok():
		return "stored"
	case err := <-f.Err():
		if errors.Is(err, errEarlierNotStored) {
			return "earlier"
		}
		return "failed"
	case <-time.After(5 * time.Second):
		t.Fatal("no outcome")
		return ""
	}
}

func TestChainPublishesOneRecordAtATimeInOrder(t *testing.T) {
	t.Parallel()
	js := newFakeJS()
	c := newChains(js.publish)
	var futs []jetstream.PubAckFuture
	for i := range 5 {
		id := fmt.Sprint("a", i)
		futs = append(futs, c.send("ingest.d.a", rec("ingest.d.a", id), id, true))
	}
	other := c.send("ingest.d.b", rec("ingest.d.b", "b0"), "b0", true)
	// b's record goes out at once, beside a's first.
	js.answer(t, "b0", nil)
	if got := outcome(t, other); got != "stored" {
		t.Fatalf("b0: %s", got)
	}
	for i := range 5 {
		js.answer(t, fmt.Sprint("a", i), nil)
		if got := outcome(t, futs[i]); got != "stored" {
			t.Fatalf("a%d: %s", i, got)
		}
	}
	if js.maxIn["ingest.d.a"] != 1 {
		t.Fatalf("%d of a's records were in flight at once, want 1", js.maxIn["ingest.d.a"])
	}
	var as []string
	for _, id := range js.published() {
		if id[0] == 'a' {
			as = append(as, id)
		}
	}
	if fmt.Sprint(as) != "[a0 a1 a2 a3 a4]" {
		t.Fatalf("published %v", as)
	}
}

func TestChainRefusesWhatFollowsARecordNotStored(t *testing.T) {
	t.Parallel()
	js := newFakeJS()
	c := newChains(js.publish)
	now := time.Now()
	c.now = func() time.Time { return now }
	f0 := c.send("k", rec("k", "r0"), "r0", true)
	f1 := c.send("k", rec("k", "r1"), "r1", true)
	f2 := c.send("k", rec("k", "r2"), "r2", true)
	js.answer(t, "r0", errors.New("no stream leader"))
	if got := [3]string{outcome(t, f0), outcome(t, f1), outcome(t, f2)}; got != [3]string{"failed", "earlier", "earlier"} {
		t.Fatalf("outcomes %v", got)
	}
	// r3, sent before the publisher heard of r0's failure, waits for r0.
	if got := outcome(t, c.send("k", rec("k", "r3"), "r3", true)); got != "earlier" {
		t.Fatalf("r3: %s", got)
	}
	// r0 again: published, and once stored the rest may follow.
	f0 = c.send("k", rec("k", "r0"), "r0", true)
	f1 = c.send("k", rec("k", "r1"), "r1", true)
	js.answer(t, "r0", nil)
	js.answer(t, "r1", nil)
	if outcome(t, f0) != "stored" || outcome(t, f1) != "stored" {
		t.Fatal("the resent records were not stored")
	}
	if got := fmt.Sprint(js.published()); got != "[r0 r0 r1]" {
		t.Fatalf("published %s, want r0, then r0 again and r1 (nothing of r1..r3 before r0 was stored)", got)
	}
	// A block ends after blockFor even if the record never comes again.
	c.send("k", rec("k", "x0"), "x0", true)
	js.answer(t, "x0", errors.New("timeout"))
	if outcome(t, c.send("k", rec("k", "x1"), "x1", true)) != "earlier" {
		t.Fatal("x1 was not refused")
	}
	now = now.Add(blockFor)
	f := c.send("k", rec("k", "x2"), "x2", true)
	js.answer(t, "x2", nil)
	if outcome(t, f) != "stored" {
		t.Fatal("x2 was refused after the block ended")
	}
	// A record whose id the hub made cannot come again: nothing waits for it.
	c.send("k", rec("k", "h0"), "h0", false)
	js.answer(t, "h0", errors.New("timeout"))
	f = c.send("k", rec("k", "h1"), "h1", false)
	js.answer(t, "h1", nil)
	if outcome(t, f) != "stored" {
		t.Fatal("a record after one with a hub-made id was refused")
	}
	c.mu.Lock()
	left := len(c.m)
	c.mu.Unlock()
	if left != 0 {
		t.Fatalf("%d idle chains kept", left)
	}
}
