package datasets

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/hub/internal/applied"
	"github.com/jobtech-dev/datahub/hub/internal/audit"
	"github.com/jobtech-dev/datahub/hub/internal/registry"
)

// DeleteResult says what [Service.Delete] removed.
type DeleteResult struct {
	Dataset string `json:"dataset"`
	// Records is how many records its stream held.
	Records uint64 `json:"records"`
	// Versions is how many schema versions it had.
	Versions int `json:"versions"`
	// Owners is how many key owners were forgotten.
	Owners int `json:"owners"`
}

// Delete removes a retired dataset for good, by by: its stream with every
// record and subscription, its schema versions and its key owners. A
// dataset still in force is refused with [ErrNotRetired]: retire it first
// (apply the declarations without it, with prune), so no record goes
// without two deliberate steps. The deletion is audited.
func (s *Service) Delete(ctx context.Context, name, by string) (DeleteResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, err := s.dataset(name)
	if err != nil {
		return DeleteResult{}, err
	}
	if d.Retired == nil {
		return DeleteResult{}, fmt.Errorf("dataset %s is in force: %w; retire it first: apply the declarations without it with --prune (its records stay readable), then delete it", name, ErrNotRetired)
	}
	res := DeleteResult{Dataset: name, Versions: len(d.Versions)}
	stream := wire.StreamName(name)
	if st, err := s.JS.Stream(ctx, stream); err == nil {
		res.Records = st.CachedInfo().State.Msgs
	}
	del := func(ctx context.Context) error {
		if err := s.JS.DeleteStream(ctx, stream); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
			return fmt.Errorf("delete stream %s of dataset %s: %w", stream, name, err)
		}
		return nil
	}
	if s.DeleteStream != nil {
		err = s.DeleteStream(ctx, stream, del)
	} else {
		err = del(ctx)
	}
	if err != nil {
		return res, err
	}
	from := s.current()
	next := make([]*registry.Dataset, 0, len(from.datasets))
	for _, o := range from.datasets {
		if o.Name != name {
			next = append(next, o)
		}
	}
	if _, err := s.commit(ctx, from, next, nil, applied.Origin{Route: applied.RouteAPI, By: by, Source: "delete " + name}, true); err != nil {
		return res, fmt.Errorf("stream of dataset %s deleted, but the registry still lists it (delete it again): %w", name, err)
	}
	for _, v := range d.Versions {
		if err := s.kv.Purge(ctx, versionKey(name, v.Number)); err != nil {
			s.log.Warn("forget a deleted dataset's schema version", "dataset", name, "version", v.Number, "err", err)
		}
	}
	if s.ForgetOwners != nil {
		n, err := s.ForgetOwners(ctx, name)
		res.Owners = n
		if err != nil {
			s.log.Warn("forget a deleted dataset's key owners", "dataset", name, "err", err)
		}
	}
	s.log.Warn("dataset deleted with its records", "dataset", name, "by", by, "records", res.Records, "versions", res.Versions)
	if err := s.recordNow(ctx, audit.Entry{Kind: audit.KindDatasetDelete, Actor: by, Subject: name,
		Detail: mustJSON(map[string]any{"dataset": name, "records": res.Records, "versions": res.Versions, "owners": res.Owners,
			"retired_at": d.Retired.At, "retired_by": d.Retired.By})}); err != nil {
		return res, fmt.Errorf("dataset %s deleted, but %w", name, err)
	}
	return res, nil
}
