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
// hub has stored it (or had already stored this record under that id). It
// returns a *ValidationError for an invalid record (errors.Is ErrKeyOwned
// when another actor owns its key), ErrConflict when the id was already used
// for different content, ErrForbidden when the actor may not publish to
// dataset, ErrUnknownDataset, ErrHubUnreachable or ErrUnavailable (retry
// with WithRecordID and the returned id: stored once).
func (c *Client) Publish(ctx context.Context, dataset string, data []byte, opts ...PublishOption) (string, error) {
	res, err := c.PublishBatch(ctx, dataset, []BatchRecord{{Data: data, ID: publishID(opts)}})
	if err != nil {
		return "", err
	}
	return res[0].ID, res[0].Err
}

func publishID(opts []PublishOption) string {
	var po publishOptions
	for _, o := range opts {
		o(&po)
	}
	return po.id
}

// BatchRecord is one record of a batch; ID may be empty.
type BatchRecord struct {
	ID   string
	Data []byte
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
}

// PublishBatch stores many records, pipelined, and returns one result per
// record in order. The error is non-nil only when nothing could be tried.
func (c *Client) PublishBatch(ctx context.Context, dataset string, recs []BatchRecord) ([]Result, error) {
	if err := checkDataset(dataset); err != nil {
		return nil, err
	}
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	pub := c.publisher()
	results := make([]Result, len(recs))
	futures := make([]*publish.Future, len(recs))
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
			if err := c.Check(ctx, dataset, r.Data); err != nil {
				results[i].Err = err
				if errors.Is(err, ErrUnknownDataset) {
					for j := i + 1; j < len(recs); j++ {
						results[j].Err = err
					}
					return results, nil
				}
				continue
			}
		}
		f, err := pub.Send(ctx, dataset, r.Data, id)
		if errors.Is(err, nats.ErrMaxPayload) {
			// Over the server's limit: sending it again cannot help.
			results[i].Err = fmt.Errorf("%s: %d bytes: %w: %v", dataset, len(r.Data), ErrTooLarge, err)
			continue
		}
		if err != nil {
			results[i].Err = fmt.Errorf("%w: %v", ErrHubUnreachable, err)
			continue
		}
		futures[i] = f
	}
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
	for i, f := range futures {
		if f == nil {
			continue
		}
		reply, err := f.Result(ctx)
		if err != nil {
			pub.Abandon(f)
			if errors.Is(err, ErrForbidden) {
				results[i].Err = err
			} else {
				results[i].Err = fmt.Errorf("%w: %v", ErrHubUnreachable, err)
			}
			continue
		}
		results[i].Err = replyError(dataset, reply)
		results[i].Seq = reply.Seq
		results[i].EnvelopeID = reply.EnvelopeID
		results[i].Duplicate = reply.Status == wire.StatusDuplicate
	}
	return results, nil
}

// Check checks data against dataset's schema here, as Publish does before
// sending unless WithLocalValidation(false) (the hub checks every record
// again either way): the decode checks and the schema, within the limits
// of WithLimits. It returns nil when the record passes or when this actor
// may not read the schema (or the hub cannot be asked for it), a
// *ValidationError with Local set when it fails, and ErrUnknownDataset.
// The schema is fetched once and cached (see Schema); records are then
// checked in one pass over their bytes, without a round trip.
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

func replyError(dataset string, r wire.Reply) error {
	err := r.Err()
	if err == nil {
		return nil
	}
	return fromWire(dataset, err.(*wire.Error), r.Violations)
}
