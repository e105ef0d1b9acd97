package ingest

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
)

// job is one record on its way through the pipeline, from the request that
// carried it to its answer.
type job struct {
	msg     *nats.Msg // the request: this record, or a batch holding it
	data    []byte    // the record
	id      string    // the publisher's record id, or the hub's
	idGiven bool      // the publisher gave id
	batch   *batch    // nil for a request of one record
	index   int       // in batch
	// fed is set for a record a federation link took from a peer: msg is
	// then a stand-in naming the peer, and the answer goes to fed.done.
	fed *federated
	at  time.Time // arrival; zero for a federated record

	// Filled in by check.
	actor    string
	out      *nats.Msg // to store: the stamped record or its dead letter; nil when the answer is known
	reply    wire.Reply
	rejected bool

	seq  uint64 // place in line
	done bool   // checked (under lineup.mu)
	sent uint32 // storer tick when published
}

// batch is an ingest request of many records: they are answered together
// once the last one's outcome is known.
type batch struct {
	msg     *nats.Msg
	jobs    []job
	replies []wire.Reply
	left    atomic.Int32
}

// lineup keeps records in arrival order between the subscription, which
// admits them, and the workers, which check them in any order: whichever
// worker checks the record at the head of the line stores it and every
// checked record behind it. The ring's size bounds the records in line;
// admit waits for room.
type lineup struct {
	room chan struct{}
	mu   sync.Mutex
	ring []*job
	mask uint64
	head uint64 // the oldest record not yet stored
	next uint64 // the next place to give
}

func (l *lineup) init(size int) {
	n := 1
	for n < size {
		n <<= 1
	}
	l.ring = make([]*job, n)
	l.mask = uint64(n - 1)
	l.room = make(chan struct{}, n)
}

// admit gives j the next place in line, waiting while the line is full.
// The subscription's goroutine calls it, and SubmitFederated.
func (l *lineup) admit(j *job) {
	l.room <- struct{}{}
	l.mu.Lock()
	j.seq = l.next
	l.ring[j.seq&l.mask] = j
	l.next++
	l.mu.Unlock()
}

// checked marks j checked and stores, with store, the records at the head
// of the line that are checked, in order.
func (l *lineup) checked(j *job, store func(*job)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	j.done = true
	for l.head != l.next {
		h := l.ring[l.head&l.mask]
		if !h.done {
			return
		}
		l.ring[l.head&l.mask] = nil
		l.head++
		store(h)
		<-l.room
	}
}
