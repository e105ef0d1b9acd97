package publish

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/nats-io/nats.go"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
)

// Record is one record of a batch request; ID may be empty.
type Record struct {
	ID   string
	Data []byte
}

// BatchFuture is the outcome of one batch request: one reply per record.
type BatchFuture struct {
	done    chan struct{}
	subj    string
	replies []wire.Reply
	err     error
}

// Done is closed when the outcome is known.
func (f *BatchFuture) Done() <-chan struct{} { return f.done }

// Results waits for the outcome: one reply per record, in order. An error
// means no record's outcome is known (or, wrapping wire.ErrBadBatch, that
// the hub could not read the request and stored none of it).
func (f *BatchFuture) Results(ctx context.Context) ([]wire.Reply, error) {
	select {
	case <-f.done:
		return f.replies, f.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (f *BatchFuture) subject() string { return f.subj }

func (f *BatchFuture) answer(m *nats.Msg, err error) int {
	if err == nil {
		var br wire.BatchReply
		switch e := json.Unmarshal(m.Data, &br); {
		case e != nil:
			err = fmt.Errorf("decode ingest batch reply: %w", e)
		case br.Code != "":
			err = fmt.Errorf("%w: %s (%s)", wire.ErrBadBatch, br.Error, br.Code)
		case len(br.Replies) != len(f.replies):
			err = fmt.Errorf("ingest batch reply: %d replies for %d records", len(br.Replies), len(f.replies))
		default:
			copy(f.replies, br.Replies)
		}
	}
	f.err = err
	close(f.done)
	return len(f.replies)
}

// maxKeptBody is the largest batch body kept for reuse: a request near the
// server's usual max payload (1 MiB) is kept, a rare larger one is not.
const maxKeptBody = 2 << 20

// SendBatch starts publishing recs to dataset in one request (see
// wire.HeaderBatch): the hub checks and stores each on its own, in order,
// and answers once. It blocks while the window has no room for all of
// them. At most wire.MaxBatchRecords records, and no more than the window,
// go in one request (else ErrTooMany); the caller keeps the request under
// the server's max payload. opts (WithSchemaVersion) hold for every record.
func (p *Publisher) SendBatch(ctx context.Context, dataset string, recs []Record, opts ...SendOption) (*BatchFuture, error) {
	if len(recs) == 0 || len(recs) > wire.MaxBatchRecords || len(recs) > p.window {
		return nil, fmt.Errorf("%w: %d records (at most %d, and the window of %d)", ErrTooMany, len(recs), wire.MaxBatchRecords, p.window)
	}
	if err := p.acquire(ctx, len(recs)); err != nil {
		return nil, err
	}
	bp, _ := p.bodies.Get().(*[]byte)
	if bp == nil {
		bp = new([]byte)
	}
	body := (*bp)[:0]
	for _, r := range recs {
		body = wire.AppendBatchRecord(body, r.ID, r.Data)
	}
	f := &BatchFuture{done: make(chan struct{}), replies: make([]wire.Reply, len(recs))}
	m := &nats.Msg{Header: nats.Header{wire.HeaderBatch: {strconv.Itoa(len(recs))}}}
	for _, o := range opts {
		o(m)
	}
	err := p.send(dataset, f, body, m.Header)
	if cap(body) <= maxKeptBody {
		*bp = body
		p.bodies.Put(bp)
	}
	if err != nil {
		return nil, err
	}
	return f, nil
}

// acquire takes n slots of the window, all or none.
func (p *Publisher) acquire(ctx context.Context, n int) error {
	p.multi.Lock()
	defer p.multi.Unlock()
	for i := 0; i < n; i++ {
		select {
		case p.slots <- struct{}{}:
		case <-ctx.Done():
			p.release(i)
			return ctx.Err()
		}
	}
	return nil
}

// Abandon gives up waiting for f, freeing its slots.
func (p *Publisher) AbandonBatch(f *BatchFuture) { p.abandon(f) }
