package api

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/internal/httpserve"
	"github.com/jobtech-dev/datahub/internal/problem"
	"github.com/jobtech-dev/datahub/internal/publish"
	"github.com/jobtech-dev/datahub/internal/recordid"
)

// recordSlack is how far past MaxRecordBytes a record is still read whole
// and handed to the validator, which refuses it with its size and keeps its
// start as a dead letter. A batch line longer than that is refused without
// ever being held in memory.
const recordSlack = 32 << 10

// batchLimiter bounds the memory batches take, whatever clients send: how
// many are worked on at once (each holds at most one line of its body), and
// the bytes of all their records read but not yet answered. A batch that
// finds the bytes taken stops reading its body until its own or another
// batch's records are answered, so a fast client is slowed to the hub's
// pace instead of filling its memory.
type batchLimiter struct {
	slots chan struct{}
	limit int64

	mu         sync.Mutex
	used, peak int64
	freed      chan struct{} // closed (and replaced) when bytes are given back
}

func newBatchLimiter(batches int, bytes int64) *batchLimiter {
	return &batchLimiter{slots: make(chan struct{}, batches), limit: bytes, freed: make(chan struct{})}
}

// admit takes a batch slot, waiting up to wait; false means none came free.
func (b *batchLimiter) admit(ctx context.Context, wait time.Duration) bool {
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case b.slots <- struct{}{}:
		return true
	case <-t.C:
	case <-ctx.Done():
	}
	return false
}

func (b *batchLimiter) done() { <-b.slots }

// take takes n bytes if they are free. It returns the channel that closes
// when bytes are next given back, to wait on when they are not.
func (b *batchLimiter) take(n int64) (bool, <-chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.used+n > b.limit {
		return false, b.freed
	}
	b.used += n
	b.peak = max(b.peak, b.used)
	return true, nil
}

func (b *batchLimiter) give(n int64) {
	b.mu.Lock()
	b.used -= n
	close(b.freed)
	b.freed = make(chan struct{})
	b.mu.Unlock()
}

// inflight returns the bytes taken now and the most ever taken at once.
func (b *batchLimiter) inflight() (now, peak int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used, b.peak
}

// batchLine is one line of a batch body.
type batchLine struct {
	n    int    // line number, from 1
	data []byte // the record, trimmed; valid until the next line is read
	long int    // the line's length when it was too long to hold (data nil)
}

// lineReader reads an NDJSON body a line at a time, holding at most max
// bytes of a line: a longer one is read to its end and only its length
// kept. Blank lines count for the numbering and are skipped.
type lineReader struct {
	br  *bufio.Reader
	max int
	buf []byte
	n   int
}

func newLineReader(r io.Reader, max int) *lineReader {
	return &lineReader{br: bufio.NewReaderSize(r, 64<<10), max: max}
}

// next returns the next non-blank line, or io.EOF after the last.
func (lr *lineReader) next() (batchLine, error) {
	for {
		lr.buf = lr.buf[:0]
		size, long, eof := 0, false, false
		for {
			chunk, err := lr.br.ReadSlice('\n')
			size += len(chunk)
			if !long {
				if len(lr.buf)+len(chunk) > lr.max+1 { // +1: the newline
					long, lr.buf = true, lr.buf[:0]
				} else {
					lr.buf = append(lr.buf, chunk...)
				}
			}
			if errors.Is(err, bufio.ErrBufferFull) {
				continue
			}
			if errors.Is(err, io.EOF) {
				eof = true
			} else if err != nil {
				return batchLine{}, err
			}
			break
		}
		if eof && size == 0 {
			return batchLine{}, io.EOF
		}
		lr.n++
		if long {
			if !eof {
				size-- // the newline
			}
			return batchLine{n: lr.n, long: size}, nil
		}
		if data := bytes.TrimSpace(lr.buf); len(data) > 0 {
			return batchLine{n: lr.n, data: data}, nil
		}
		if eof {
			return batchLine{}, io.EOF
		}
	}
}

// publishBatch publishes an NDJSON body line by line as it arrives, and
// answers with every line's outcome once all are known. Memory stays
// bounded by the batchLimiter, not by the body: a line is held only until
// it is sent, and no more bytes are in flight than the limiter allows.
func (a *api) publishBatch(w http.ResponseWriter, r *http.Request, dataset string, pin ...publish.SendOption) error {
	if r.ContentLength > a.MaxBatchBytes {
		return problem.New(wire.CodeTooLarge, fmt.Sprintf("batch of %d bytes is larger than %d bytes: split it", r.ContentLength, a.MaxBatchBytes))
	}
	if !a.batches.admit(r.Context(), a.BatchWait) {
		w.Header().Set("Retry-After", "1")
		return problem.New(wire.CodeUnavailable, fmt.Sprintf("the hub is working on %d batches already: retry", cap(a.batches.slots)))
	}
	defer a.batches.done()
	ctx := r.Context()
	b := &batch{a: a, dataset: dataset, idFrom: r.URL.Query().Get("id_from"), pin: pin, res: problem.Batch{Dataset: dataset, Counts: map[wire.Status]int{}}}
	defer b.abandon()
	lines := newLineReader(http.MaxBytesReader(w, r.Body, a.MaxBatchBytes), a.MaxRecordBytes+recordSlack)
	for {
		l, err := lines.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if err := b.finish(ctx); err != nil {
				return err
			}
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return b.cut(problem.New(wire.CodeTooLarge, fmt.Sprintf("batch larger than %d bytes: %s; send the rest in another batch", a.MaxBatchBytes, b.progress())))
			}
			return b.cut(problem.New(wire.CodeBadRequest, fmt.Sprintf("read batch: %v: %s", err, b.progress())))
		}
		if len(b.res.Results) == a.MaxBatch {
			if err := b.finish(ctx); err != nil {
				return err
			}
			return b.cut(problem.New(wire.CodeTooLarge, fmt.Sprintf("batch has more than %d records: %s; send the rest in another batch", a.MaxBatch, b.progress())))
		}
		if err := b.send(ctx, l); err != nil {
			return err
		}
		httpserve.ExtendRead(w)
	}
	if len(b.res.Results) == 0 {
		return problem.New(wire.CodeBadRequest, "empty batch: send one JSON record per line")
	}
	if err := b.finish(ctx); err != nil {
		return err
	}
	return b.res.Write(w, r)
}

// cut answers a batch stopped halfway with p, carrying the results of the
// lines before the stop so the client resends only the rest.
func (b *batch) cut(p *problem.Problem) *problem.Problem {
	if len(b.res.Results) > 0 {
		p.Batch = &b.res
	}
	return p
}

// batch is one batch's records in flight, in line order.
type batch struct {
	a       *api
	dataset string
	idFrom  string               // ?id_from=: record ids from this field and the content
	pin     []publish.SendOption // the schema version pinned, if any
	res     problem.Batch
	queue   []inflight // sent, not yet answered, oldest first
}

type inflight struct {
	i    int // index in res.Results
	f    *publish.Future
	size int64
	sent time.Time
}

// send starts publishing line l, first waiting for room in the bytes in
// flight (collecting this batch's own answers meanwhile).
func (b *batch) send(ctx context.Context, l batchLine) error {
	b.res.Results = append(b.res.Results, problem.LineResult{Line: l.n})
	i := len(b.res.Results) - 1
	if l.data == nil {
		b.outcome(i, wire.Reply{Status: wire.StatusTooLarge, Code: wire.CodeTooLarge, Dataset: b.dataset,
			Error: fmt.Sprintf("record on line %d is %d bytes, more than the limit of %d bytes", l.n, l.long, b.a.MaxRecordBytes),
			Violations: []wire.Violation{{Keyword: "maxBytes",
				Message: fmt.Sprintf("record is %d bytes, more than the limit of %d bytes", l.long, b.a.MaxRecordBytes)}}})
		return nil
	}
	id := ""
	if b.idFrom != "" {
		var err error
		if id, err = recordid.FromField(b.dataset, b.idFrom, l.data); err != nil {
			b.outcome(i, wire.Reply{Status: wire.StatusRejected, Code: wire.CodeInvalid, Dataset: b.dataset, Error: err.Error(),
				Violations: []wire.Violation{{Keyword: "id_from", Message: err.Error()}}})
			return nil
		}
	}
	size := int64(len(l.data))
	for {
		ok, freed := b.a.batches.take(size)
		if ok {
			break
		}
		if err := b.wait(ctx, freed); err != nil {
			return err
		}
	}
	f, err := b.a.Publisher.Send(ctx, b.dataset, l.data, id, b.pin...)
	if err != nil {
		b.a.batches.give(size)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		b.outcome(i, wire.Reply{Status: wire.StatusUnavailable, Code: wire.CodeUnavailable, Dataset: b.dataset, Error: err.Error()})
		return nil
	}
	b.queue = append(b.queue, inflight{i: i, f: f, size: size, sent: time.Now()})
	for len(b.queue) > 0 && isDone(b.queue[0].f) {
		b.collect(ctx)
	}
	return nil
}

// wait blocks until bytes are given back, collecting the oldest answer of
// this batch if it comes first.
func (b *batch) wait(ctx context.Context, freed <-chan struct{}) error {
	if len(b.queue) == 0 {
		select {
		case <-freed:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	t := time.NewTimer(time.Until(b.queue[0].sent.Add(publishTimeout)))
	defer t.Stop()
	select {
	case <-freed:
	case <-b.queue[0].f.Done():
		b.collect(ctx)
	case <-t.C:
		b.collect(ctx)
	case <-ctx.Done():
		return ctx.Err()
	}
	return nil
}

// collect waits for the oldest record's answer (up to publishTimeout after
// it was sent) and records it.
func (b *batch) collect(ctx context.Context) {
	p := b.queue[0]
	b.queue = b.queue[1:]
	wctx, cancel := context.WithDeadline(ctx, p.sent.Add(publishTimeout))
	reply, err := p.f.Result(wctx)
	cancel()
	if err != nil {
		b.a.Publisher.Abandon(p.f)
		reply = wire.Reply{Status: wire.StatusUnavailable, Code: wire.CodeUnavailable, Dataset: b.dataset, Error: "outcome unknown, retry: " + err.Error()}
	}
	b.a.batches.give(p.size)
	b.outcome(p.i, reply)
}

// finish collects every answer still outstanding.
func (b *batch) finish(ctx context.Context) error {
	for len(b.queue) > 0 {
		b.collect(ctx)
	}
	return ctx.Err()
}

// abandon gives up on the answers still outstanding (the client went away).
func (b *batch) abandon() {
	for _, p := range b.queue {
		b.a.Publisher.Abandon(p.f)
		b.a.batches.give(p.size)
	}
	b.queue = nil
}

func (b *batch) outcome(i int, r wire.Reply) {
	b.res.Results[i] = problem.ResultOf(b.res.Results[i].Line, r)
	b.res.Counts[r.Status]++
}

// progress says what became of the lines read so far.
func (b *batch) progress() string {
	n := len(b.res.Results)
	if n == 0 {
		return "no line was read"
	}
	return fmt.Sprintf("the first %d records (to line %d) were processed (%d stored, %d duplicates, %d refused) and the rest not read",
		n, b.res.Results[n-1].Line, b.res.Counts[wire.StatusStored], b.res.Counts[wire.StatusDuplicate], b.res.Refused())
}

func isDone(f *publish.Future) bool {
	select {
	case <-f.Done():
		return true
	default:
		return false
	}
}
