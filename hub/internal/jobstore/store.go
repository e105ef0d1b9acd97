package jobstore

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/hub/internal/audit"
)

// Bucket holds the descriptions, one key per actor.service.
const Bucket = "hub_services"

// Audit entry kinds.
const (
	KindPublish = "service.publish"
	KindRemove  = "service.remove"
)

// Recorder stores an audit entry before the change is answered.
type Recorder interface {
	Record(ctx context.Context, e audit.Entry) (audit.Entry, error)
}

// Store keeps the descriptions.
type Store struct {
	kv    jetstream.KeyValue
	audit Recorder
	known func(string) bool
	log   *slog.Logger
}

// Open opens the bucket; known says whether a dataset is declared.
func Open(ctx context.Context, js jetstream.JetStream, rec Recorder, known func(string) bool, log *slog.Logger) (*Store, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: Bucket, Description: "the Jobstore: actors' service descriptions", Storage: jetstream.FileStorage})
	if err != nil {
		return nil, fmt.Errorf("open bucket %s: %w", Bucket, err)
	}
	return &Store{kv: kv, audit: rec, known: known, log: log.With("component", "jobstore")}, nil
}

// Known says whether a dataset is declared (for parsing files).
func (st *Store) Known(d string) bool { return st.known(d) }

// Publish checks and stores s (creating or replacing the actor's service
// of that name) and audits it; by is who did it (an actor, or admin).
func (st *Store) Publish(ctx context.Context, s Service, by string) (Service, error) {
	if err := s.Check(st.known); err != nil {
		return Service{}, err
	}
	s.UpdatedAt, s.UpdatedBy = time.Now().UTC().Truncate(time.Second), by
	b, err := json.Marshal(s)
	if err != nil {
		return Service{}, err
	}
	if _, err := st.kv.Put(ctx, s.Key(), b); err != nil {
		return Service{}, fmt.Errorf("store service %s: %w", s.Key(), err)
	}
	detail, _ := json.Marshal(map[string]any{"actor": s.Actor, "name": s.Name, "category": s.Category, "url": s.URL, "datasets": s.Datasets})
	if _, err := st.audit.Record(ctx, audit.Entry{Kind: KindPublish, Actor: by, Subject: s.Key(), Detail: detail}); err != nil {
		return s, fmt.Errorf("service %s published, but its audit entry is not stored yet: %w", s.Key(), err)
	}
	return s, nil
}

// Get returns actor's service name.
func (st *Store) Get(ctx context.Context, actor, name string) (Service, error) {
	if !wire.ValidName(actor) || !wire.ValidName(name) {
		return Service{}, fmt.Errorf("%w: %s/%s", ErrNotFound, short(actor), short(name))
	}
	e, err := st.kv.Get(ctx, actor+"."+name)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return Service{}, fmt.Errorf("%w: %s/%s", ErrNotFound, actor, name)
	}
	if err != nil {
		return Service{}, fmt.Errorf("read service %s/%s: %w", actor, name, err)
	}
	var s Service
	if err := json.Unmarshal(e.Value(), &s); err != nil {
		return Service{}, fmt.Errorf("decode service %s/%s: %w", actor, name, err)
	}
	return s, nil
}

// Remove deletes actor's service name and audits it.
func (st *Store) Remove(ctx context.Context, actor, name, by string) error {
	if _, err := st.Get(ctx, actor, name); err != nil {
		return err
	}
	if err := st.kv.Delete(ctx, actor+"."+name); err != nil {
		return fmt.Errorf("remove service %s/%s: %w", actor, name, err)
	}
	if _, err := st.audit.Record(ctx, audit.Entry{Kind: KindRemove, Actor: by, Subject: actor + "." + name}); err != nil {
		return fmt.Errorf("service %s/%s removed, but its audit entry is not stored yet: %w", actor, name, err)
	}
	return nil
}

// Search returns the services matching text, category and dataset (see
// Service.Matches) and, when actor is not "", of that actor, by title.
func (st *Store) Search(ctx context.Context, text, category, dataset, actor string) ([]Service, error) {
	lister, err := st.kv.ListKeys(ctx)
	if errors.Is(err, jetstream.ErrNoKeysFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list services: %w", err)
	}
	var out []Service
	for k := range lister.Keys() {
		e, err := st.kv.Get(ctx, k)
		if err != nil {
			continue // deleted meanwhile
		}
		var s Service
		if json.Unmarshal(e.Value(), &s) != nil {
			st.log.Warn("service description unreadable", "key", k)
			continue
		}
		if (actor == "" || s.Actor == actor) && s.Matches(text, category, dataset) {
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b Service) int { return cmp.Or(cmp.Compare(a.Title, b.Title), cmp.Compare(a.Key(), b.Key())) })
	return out, nil
}
