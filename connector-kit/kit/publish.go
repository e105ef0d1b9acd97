package kit

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/internal/publish"
)

// Publish stores one record in dataset and returns its record id once the
// hub has stored it (or had already stored this record under that id). A
// warning the hub gives a stored record (a deprecated taxonomy concept) is
// logged; PublishBatch returns them in [Result.Warnings]. It
// returns a *ValidationError for an invalid record (errors.Is ErrKeyOwned
// when another actor owns its key), ErrConflict when the id was already used
// for different content, ErrForbidden when the actor may not publish to
// dataset, ErrUnknownDataset, ErrHubUnreachable or ErrUnavailable (retry
// with WithRecordID and the returned id: stored once).
func (c *Client) Publish(ctx context.Context, dataset string, data []byte, opts ...PublishOption) (string, error) {
	var po publishOptions
	for _, o := range opts {
		o(&po)
	}
	res, err := c.PublishBatch(ctx, dataset, []BatchRecord{{Data: data, ID: po.id, SchemaVersion: po.version}})
	if err != nil {
		return "", err
	}
	for _, w := range res[0].Warnings {
		c.opts.log.Warn("hub stored the record with a warning", "dataset", dataset, "id", res[0].ID, "warning", w.String())
	}
	return res[0].ID, res[0].Err
}

// BatchRecord is one record of a batch; ID may be empty. SchemaVersion,
// when not 0, pins the schema version the record is validated against
// (see WithSchemaVersion).
type BatchRecord struct {
	ID            string
	Data          []byte
	SchemaVersion int
}

// Result is the outcome of one record of a batch.
type Result struct {
	// ID is the record id (the actor's own: record ids are per actor).
	ID string
	// EnvelopeID is the id subscribers see in the stored record's envelope,
	// unique across actors and hubs (see wire.EnvelopeID).
	EnvelopeID string
	// Duplicate is true when the hub had already stored this record under
	// this id (a retry); the same id with other content is ErrConflict.
	Duplicate bool
	Seq       uint64
	Err       error
	// Warnings are what the hub warns a stored record about, each at its
	// pointer: a deprecated taxonomy concept in a dataset that warns about
	// them (keyword x-taxonomy, naming the replacement).
	Warnings []wire.Violation
}

// PublishBatch stores many records, pipelined, and returns one result per
// record in order. The error is non-nil only when nothing could be tried.
//
// Records travel to the hub in batch requests (many records in one NATS
// message, see wire.HeaderBatch), which the hub checks and stores record by
// record, in order, answering each: a refused record does not hold back
// the others. A record too large to share a message goes alone.
func (c *Client) PublishBatch(ctx context.Context, dataset string, recs []BatchRecord) ([]Result, error) {
	if err := checkDataset(dataset); err != nil {
		return nil, err
	}
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	pub := c.publisher()
	results := make([]Result, len(recs))
	var reqs []request
	var group request // records waiting to go in one batch request
	groupBytes := 0
	budget := c.batchBytes()
	// A batch request takes a slot of the window for each record: it may
	// not hold more records than the window has.
	perRequest := min(batchRecords, c.opts.window)
	flush := func() {
		if len(group.idx) > 0 {
			reqs = append(reqs, c.sendGroup(ctx, pub, dataset, recs, results, group)...)
			group, groupBytes = request{}, 0
		}
	}
	for i, r := range recs {
		id := r.ID
		if id == "" {
			u, err := uuid.NewV7()
			if err != nil {
				return nil, fmt.Errorf("record id: %w", err)
			}
			id = u.String()
		}
		results[i].ID = id
		if c.opts.validate {
			if err := c.checkLocally(ctx, dataset, r.SchemaVersion, r.Data); err != nil {
				results[i].Err = err
				if errors.Is(err, ErrUnknownDataset) {
					for j := i + 1; j < len(recs); j++ {
						results[j].Err = err
					}
					flush()
					c.awaitAll(ctx, pub, dataset, reqs, results)
					return results, nil
				}
				continue
			}
		}
		size := len(r.Data) + wire.BatchFrameOverhead
		if len(recs) == 1 || size > budget {
			flush()
			reqs = append(reqs, c.sendOne(ctx, pub, dataset, r.Data, r.SchemaVersion, results, i))
			continue
		}
		// One request pins one schema version for all its records.
		if groupBytes+size > budget || len(group.idx) == perRequest || (len(group.idx) > 0 && group.version != r.SchemaVersion) {
			flush()
		}
		group.version = r.SchemaVersion
		group.idx = append(group.idx, i)
		groupBytes += size
	}
	flush()
	c.awaitAll(ctx, pub, dataset, reqs, results)
	return results, nil
}

// batchRecords is how many records the kit puts in one batch request: big
// enough to save most of the per-request cost, small enough that the hub
// works on several requests of one publisher at once.
const batchRecords = 256

// batchBytes is the largest body of a batch request: the server's max
// payload, less room for the request's headers.
func (c *Client) batchBytes() int {
	mp := int(c.maxPayload.Load())
	if mp <= 0 {
		mp = 1 << 20
	}
	return max(mp-8<<10, mp/2)
}

// request is one request sent for PublishBatch: a record alone (f) or a
// batch request (bf) of the records at idx.
type request struct {
	idx     []int
	version int // the schema version the request pins, 0 for the latest
	f       *publish.Future
	bf      *publish.BatchFuture
}

// sendOne sends record i alone; a failure to send is its result.
func (c *Client) sendOne(ctx context.Context, pub *publish.Publisher, dataset string, data []byte, version int, results []Result, i int) request {
	f, err := pub.Send(ctx, dataset, data, results[i].ID, pinned(version)...)
	if err != nil {
		results[i].Err = sendError(dataset, len(data), err)
		return request{}
	}
	return request{idx: []int{i}, f: f}
}

// sendGroup sends the records at g.idx in one batch request; a failure to
// send is each one's result. A request over the server's max payload (its
// size not yet known when the connection came up late) goes again as one
// request per record, so only a record too large on its own fails.
func (c *Client) sendGroup(ctx context.Context, pub *publish.Publisher, dataset string, recs []BatchRecord, results []Result, g request) []request {
	rs := make([]publish.Record, len(g.idx))
	size := 0
	for k, i := range g.idx {
		rs[k] = publish.Record{ID: results[i].ID, Data: recs[i].Data}
		size += len(recs[i].Data)
	}
	bf, err := pub.SendBatch(ctx, dataset, rs, pinned(g.version)...)
	if errors.Is(err, nats.ErrMaxPayload) && len(g.idx) > 1 {
		out := make([]request, 0, len(g.idx))
		for _, i := range g.idx {
			out = append(out, c.sendOne(ctx, pub, dataset, recs[i].Data, g.version, results, i))
		}
		return out
	}
	if err != nil {
		for _, i := range g.idx {
			results[i].Err = sendError(dataset, size, err)
		}
		return nil
	}
	g.bf = bf
	return []request{g}
}

// pinned is the send option that pins version, none for 0 (the latest).
func pinned(version int) []publish.SendOption {
	if version == 0 {
		return nil
	}
	return []publish.SendOption{publish.WithSchemaVersion(version)}
}

func sendError(dataset string, size int, err error) error {
	if errors.Is(err, nats.ErrMaxPayload) {
		// Over the server's limit: sending it again cannot help.
		return fmt.Errorf("%s: %d bytes: %w: %v", dataset, size, ErrTooLarge, err)
	}
	return fmt.Errorf("%w: %v", ErrHubUnreachable, err)
}

// awaitAll waits for every request's answers and fills in results.
func (c *Client) awaitAll(ctx context.Context, pub *publish.Publisher, dataset string, reqs []request, results []Result) {
	defer func() {
		// One catalog lookup for the batch tells an unknown dataset from a
		// forbidden one.
		var refined error
		for i := range results {
			if errors.Is(results[i].Err, ErrForbidden) {
				if refined == nil {
					refined = c.refine(ctx, dataset, results[i].Err)
				}
				if errors.Is(refined, ErrUnknownDataset) {
					results[i].Err = refined
				}
			}
		}
	}()
	fail := func(idx []int, err error) {
		for _, i := range idx {
			if errors.Is(err, ErrForbidden) {
				results[i].Err = err
			} else {
				results[i].Err = fmt.Errorf("%w: %v", ErrHubUnreachable, err)
			}
		}
	}
	for _, rq := range reqs {
		switch {
		case rq.f != nil:
			reply, err := rq.f.Result(ctx)
			if err != nil {
				pub.Abandon(rq.f)
				fail(rq.idx, err)
				continue
			}
			setResult(&results[rq.idx[0]], dataset, reply)
		case rq.bf != nil:
			replies, err := rq.bf.Results(ctx)
			if err != nil {
				pub.AbandonBatch(rq.bf)
				fail(rq.idx, err)
				continue
			}
			for k, i := range rq.idx {
				setResult(&results[i], dataset, replies[k])
			}
		}
	}
}

func setResult(r *Result, dataset string, reply wire.Reply) {
	r.Err = replyError(dataset, reply)
	r.Seq = reply.Seq
	r.EnvelopeID = reply.EnvelopeID
	r.Duplicate = reply.Status == wire.StatusDuplicate
	r.Warnings = reply.Warnings
}

// Check checks data against dataset's schema here, as Publish does before
// sending unless WithLocalValidation(false) (the hub checks every record
// again either way): the decode checks and the schema, within the limits
// of WithLimits. It returns nil when the record passes or when this actor
// may not read the schema (or the hub cannot be asked for it), a
// *ValidationError with Local set when it fails, and ErrUnknownDataset.
// The schema is fetched once and cached (see Schema); records are then
// checked in one pass over their bytes, without a round trip. Taxonomy
// references (x-taxonomy) are not checked here: the kit holds no taxonomy.
func (c *Client) Check(ctx context.Context, dataset string, data []byte) error {
	cs, err := c.cachedSchema(ctx, dataset)
	switch {
	case errors.Is(err, ErrUnknownDataset):
		return err
	case err != nil:
		c.opts.log.Debug("no local schema check", "dataset", dataset, "err", err)
		return nil
	}
	if res := cs.check.Check(data, c.opts.limits); len(res.Violations) > 0 {
		return &ValidationError{Dataset: dataset, Violations: res.Violations, Local: true}
	}
	return nil
}

// checkLocally is Check for the latest version (0) or, for a record pinned
// to another version, the reference check of that version's schema
// (fetched once and cached, see SchemaVersion).
func (c *Client) checkLocally(ctx context.Context, dataset string, version int, data []byte) error {
	if version == 0 {
		return c.Check(ctx, dataset, data)
	}
	s, err := c.schemaFor(ctx, dataset, version)
	switch {
	case errors.Is(err, ErrUnknownDataset):
		return err
	case err != nil:
		c.opts.log.Debug("no local schema check", "dataset", dataset, "version", version, "err", err)
		return nil
	}
	if _, viol := s.Check(data, c.opts.limits); len(viol) > 0 {
		return &ValidationError{Dataset: dataset, Violations: viol, Local: true}
	}
	return nil
}

func replyError(dataset string, r wire.Reply) error {
	err := r.Err()
	if err == nil {
		return nil
	}
	return fromWire(dataset, err.(*wire.Error), r.Violations)
}
