package sidecar

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/jobtech-dev/datahub/connector-kit/internal/outbox"
	"github.com/jobtech-dev/datahub/connector-kit/kit"
	"github.com/jobtech-dev/datahub/connector-kit/schema"
	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/internal/problem"
	"github.com/jobtech-dev/datahub/internal/recordid"
)

// A POST of records goes through five steps, one function each: parse the
// request, check each record, enqueue it durably, await the hub's answer for
// a short while, render the outcome. A batch streams through the first three
// line by line, so its memory is one line and the results, whatever its size.

// post is one POST of records being handled.
type post struct {
	dataset string
	batch   bool
	async   bool // Prefer: respond-async: answer once durable, without waiting for the hub
	idFrom  string
	id      string // the client's Hub-Record-Id, single records only
	schema  *schema.Schema
	results []problem.LineResult
	waits   []chan outcome // per result; nil when the outcome is already known
}

func (s *Sidecar) postRecords(w http.ResponseWriter, r *http.Request) error {
	start := time.Now()
	defer func() { s.m.latency.Observe(time.Since(start).Seconds()) }()
	p, err := s.parsePost(r)
	if err != nil {
		return err
	}
	body := http.MaxBytesReader(w, r.Body, s.bodyLimit(p.batch))
	err = s.eachLine(body, p.batch, func(n int, data []byte) error {
		res, ok := s.check(r.Context(), p, n, data)
		if !ok {
			p.results, p.waits = append(p.results, res), append(p.waits, nil)
			return nil
		}
		return s.enqueue(r.Context(), p, res, data)
	})
	if err != nil {
		s.abandon(p)
		return withQueued(err, p)
	}
	if len(p.results) == 0 {
		return problem.New(wire.CodeBadRequest, "no record in the body")
	}
	s.await(r.Context(), p)
	if p.async {
		w.Header().Set("Preference-Applied", "respond-async")
	}
	return s.render(w, r, p)
}

// respondAsync reports whether the request's Prefer header (RFC 7240) asks
// for respond-async: the client wants its answer as soon as its records are
// durable in the outbox, "queued", rather than after the hub's answer.
func respondAsync(h http.Header) bool {
	for _, v := range h.Values("Prefer") {
		for pref := range strings.SplitSeq(v, ",") {
			name, _, _ := strings.Cut(pref, ";")
			name, _, _ = strings.Cut(name, "=")
			if strings.EqualFold(strings.TrimSpace(name), "respond-async") {
				return true
			}
		}
	}
	return false
}

// parsePost reads what the request says about its records.
func (s *Sidecar) parsePost(r *http.Request) (*post, error) {
	dataset, err := datasetFromPath(r)
	if err != nil {
		return nil, err
	}
	p := &post{dataset: dataset, idFrom: r.URL.Query().Get("id_from"), async: respondAsync(r.Header)}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "application/json", "":
	case "application/x-ndjson", "application/ndjson", "application/jsonl":
		p.batch = true
	default:
		return nil, problem.Newf(problem.CodeUnsupportedMediaType, "content type %q: send application/json (one record) or application/x-ndjson (one per line)", ct)
	}
	for k := range r.URL.Query() {
		if k != "id_from" {
			return nil, problem.Newf(wire.CodeBadRequest, "unknown query parameter %q (this endpoint takes id_from)", k)
		}
	}
	if !s.knownDataset(r.Context(), p.dataset) {
		return nil, problem.Newf(wire.CodeUnknownDataset, "dataset %q is not on the hub", p.dataset)
	}
	if err := s.mayPublish(p.dataset); err != nil {
		return nil, err
	}
	if !p.batch {
		p.id = r.Header.Get(wire.RequestRecordID)
		if p.id != "" && !wire.ValidRecordID(p.id) {
			return nil, problem.Newf(wire.CodeBadRequest, "header %s %q: 1 to %d printable characters without spaces", wire.RequestRecordID, p.id, wire.MaxRecordIDLen)
		}
	}
	// The schema lets bad records be refused at once, before they queue.
	// When the hub is away or the actor may not read the schema, records
	// queue unchecked and the hub checks them.
	if sch, _, err := s.c.Schema(s.quick(r.Context()), p.dataset); err == nil {
		p.schema = sch
	}
	return p, nil
}

// mayPublish refuses, before anything is queued, records that the hub is
// known to refuse: every record while the hub refuses the actor's key, and
// the records of a dataset the hub refused on this connection.
func (s *Sidecar) mayPublish(dataset string) error {
	st := s.c.State()
	if st.Unauthorized {
		return problem.Newf(wire.CodeForbidden, "the hub refuses the key of actor %s (revoked, or not this hub's): nothing was queued; records already queued wait in the outbox until the key is accepted again", s.c.Actor())
	}
	if ref, ok := s.rights.forbidden(dataset, st.Generation); ok {
		return problem.Newf(wire.CodeForbidden, "actor %s may not publish to %s: the hub refused a record of it at %s (%s); nothing was queued. Rights are learned again when the hub connection is authorized again (after a policy change)",
			s.c.Actor(), dataset, ref.at.UTC().Format(time.RFC3339), ref.cause)
	}
	return nil
}

// recordLimit is the largest record a POST may carry: the sidecar's own
// limit, or the hub's when that is lower (learned at connect), since a
// record the hub cannot take would never leave the outbox.
func (s *Sidecar) recordLimit() (int, string) {
	if hub := s.c.HubMaxRecordBytes(); hub > 0 && hub < s.cfg.MaxRecordBytes {
		return hub, "the hub's limit"
	}
	return s.cfg.MaxRecordBytes, "the limit"
}

// bodyLimit bounds a request body: one record, or a batch of at most
// MaxBatch records (each still bounded on its own).
func (s *Sidecar) bodyLimit(batch bool) int64 {
	if !batch {
		return int64(s.cfg.MaxRecordBytes) + 1
	}
	return int64(s.cfg.MaxBatch) * (int64(s.cfg.MaxRecordBytes) + 1)
}

// eachLine calls fn for each record of the body: the whole body for a single
// record, each non-blank line of a batch (numbered from 1).
func (s *Sidecar) eachLine(body io.Reader, batch bool, fn func(n int, data []byte) error) error {
	if !batch {
		data, err := io.ReadAll(body)
		if err != nil {
			return readErr(err, s.cfg.MaxRecordBytes)
		}
		if data = bytes.TrimSpace(data); len(data) == 0 {
			return nil
		}
		return fn(0, data)
	}
	br := bufio.NewReaderSize(body, 64<<10)
	records := 0
	for n := 1; ; n++ {
		line, err := readLine(br, s.cfg.MaxRecordBytes)
		if errors.Is(err, errLineTooLong) {
			if err := fn(n, line); err != nil { // refused as too large
				return err
			}
			continue
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return readErr(err, s.cfg.MaxRecordBytes)
		}
		if line = bytes.TrimSpace(line); len(line) > 0 {
			if records++; records > s.cfg.MaxBatch {
				return problem.Newf(wire.CodeTooLarge, "batch of more than %d records: split it", s.cfg.MaxBatch)
			}
			if err := fn(n, line); err != nil {
				return err
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
	}
}

// errLineTooLong marks a batch line over the record limit; the line's
// first bytes come with it and the rest is skipped.
var errLineTooLong = errors.New("line too long")

// readLine reads one line of at most limit bytes; a longer one is skipped
// to its end and reported with errLineTooLong.
func readLine(br *bufio.Reader, limit int) ([]byte, error) {
	var line []byte
	for {
		frag, err := br.ReadSlice('\n')
		if len(line)+len(frag) > limit+1 { // +1: the newline
			head := append(line, frag[:min(len(frag), 64)]...)
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = br.ReadSlice('\n')
			}
			if err != nil && !errors.Is(err, io.EOF) {
				return nil, err
			}
			return head, errLineTooLong
		}
		line = append(line, frag...)
		if !errors.Is(err, bufio.ErrBufferFull) {
			return line, err
		}
	}
}

func readErr(err error, limit int) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return problem.Newf(wire.CodeTooLarge, "body larger than %d bytes", mbe.Limit)
	}
	return problem.New(wire.CodeBadRequest, "read body: "+err.Error())
}

// check gives a record its id and checks it locally. It reports false, with
// the refusal in the result, when the record must not be queued.
func (s *Sidecar) check(ctx context.Context, p *post, n int, data []byte) (problem.LineResult, bool) {
	res := problem.LineResult{Line: n}
	if limit, what := s.recordLimit(); len(data) > limit {
		res.Status, res.Code = wire.StatusTooLarge, wire.CodeTooLarge
		res.Error = fmt.Sprintf("record over %d bytes, %s", limit, what)
		return res, false
	}
	var viol []wire.Violation
	if p.schema != nil {
		// The kit's cached schema, compiled to the one-pass validator
		// when it can be: the reference writes the violations.
		var ve *kit.ValidationError
		if err := s.c.Check(ctx, p.dataset, data); errors.As(err, &ve) {
			viol = ve.Violations
		}
	} else {
		_, viol = schema.Decode(data, s.limits)
	}
	if len(viol) > 0 {
		res.Status, res.Code = wire.StatusRejected, wire.CodeInvalid
		res.Error, res.Violations = "does not match the dataset's schema; not queued", viol
		return res, false
	}
	switch {
	case p.idFrom != "":
		id, err := recordid.FromField(p.dataset, p.idFrom, data)
		if err != nil {
			res.Status, res.Code, res.Error = wire.StatusRejected, wire.CodeInvalid, err.Error()
			res.Violations = []wire.Violation{{Keyword: "id_from", Message: err.Error()}}
			return res, false
		}
		res.ID = id
	case p.id != "":
		res.ID = p.id
	default:
		u, err := uuid.NewV7()
		if err != nil {
			res.Status, res.Code, res.Error = wire.StatusUnavailable, wire.CodeUnavailable, "make record id: "+err.Error()
			return res, false
		}
		res.ID = u.String()
	}
	return res, true
}

// enqueue writes a checked record to the outbox and starts waiting for its
// outcome.
func (s *Sidecar) enqueue(ctx context.Context, p *post, res problem.LineResult, data []byte) error {
	res.Status = wire.StatusQueued
	wait := s.fw.wait(res.ID)
	// Append with a context the client cannot cancel: a record half written
	// when the client leaves would still be forwarded.
	if _, err := s.ob.Append(context.WithoutCancel(ctx), outbox.Entry{Dataset: p.dataset, ID: res.ID, Data: data}); err != nil {
		s.fw.forget(res.ID, wait)
		if errors.Is(err, outbox.ErrFull) {
			return problem.New(wire.CodeUnavailable, "outbox full: the hub has been away too long; retry later").RetryAfter(30 * time.Second)
		}
		return fmt.Errorf("outbox: %w", err)
	}
	p.results, p.waits = append(p.results, res), append(p.waits, wait)
	return nil
}

// abandon stops waiting for the records of a POST that failed halfway.
func (s *Sidecar) abandon(p *post) {
	for i, w := range p.waits {
		if w == nil {
			continue
		}
		s.fw.forget(p.results[i].ID, w)
		select {
		case o := <-w: // its outcome goes into the answer's results
			res := &p.results[i]
			res.Status, res.Code, res.Seq, res.Error, res.Violations = o.Status, o.Code, o.Seq, o.Error, o.Violations
		default:
		}
	}
}

// withQueued adds, to the error of a batch that failed halfway, which of its
// lines are queued already: a retry then sends only the rest.
func withQueued(err error, p *post) error {
	pr := problem.From(err)
	queued := 0
	for _, r := range p.results {
		if r.Status == wire.StatusQueued {
			queued++
		}
	}
	if queued > 0 && pr.Batch == nil {
		pr.Detail += fmt.Sprintf("; %d records before this point are queued (see results)", queued)
		b := &problem.Batch{Dataset: p.dataset}
		for _, r := range p.results {
			b.Add(r)
		}
		pr.Batch = b
	}
	return pr
}

// await waits, at most AckTimeout for the whole POST (not at all for
// respond-async), for the hub's answers; records still unanswered stay
// queued (202). An answer that is there already is taken either way.
func (s *Sidecar) await(ctx context.Context, p *post) {
	wait := s.cfg.AckTimeout
	if p.async {
		wait = 0
	}
	wctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	for i, w := range p.waits {
		if w == nil {
			continue
		}
		var o outcome
		select {
		case o = <-w:
		case <-wctx.Done():
			s.fw.forget(p.results[i].ID, w)
			select {
			case o = <-w: // told just before forget: the client gets it
			default:
				continue // queued: if the hub refuses it later, /v1/rejected keeps it
			}
		}
		res := &p.results[i]
		res.Status, res.Code, res.Seq, res.Error, res.Violations = o.Status, o.Code, o.Seq, o.Error, o.Violations
	}
}

// render answers the POST: a single record with its outcome's status (the
// result, or a problem when refused); a batch with every line's result.
func (s *Sidecar) render(w http.ResponseWriter, r *http.Request, p *post) error {
	for _, res := range p.results {
		s.m.posted.WithLabelValues(string(res.Status)).Inc()
	}
	if !p.batch {
		res := p.results[0]
		if !res.Status.OK() {
			pr := problem.New(res.Code, res.Error)
			pr.Violations = res.Violations
			return pr
		}
		return problem.WriteJSON(w, problem.OutcomeStatus(res.Status), res)
	}
	b := &problem.Batch{Dataset: p.dataset}
	for _, res := range p.results {
		b.Add(res)
	}
	return b.Write(w, r)
}

// subscribeErr maps a kit error to the API's answer.
func subscribeErr(dataset string, err error) error {
	switch {
	case errors.Is(err, kit.ErrForbidden):
		return problem.New(wire.CodeForbidden, err.Error()) // names the actor, the dataset and the right
	case errors.Is(err, kit.ErrUnknownDataset):
		return problem.Newf(wire.CodeUnknownDataset, "dataset %q is not on the hub", dataset)
	case errors.Is(err, kit.ErrHubUnreachable):
		return problem.New(problem.CodeHubUnreachable, err.Error())
	case errors.Is(err, kit.ErrRateLimited):
		return problem.New(wire.CodeRateLimited, err.Error()).RetryAfter(5 * time.Second)
	}
	return err
}
