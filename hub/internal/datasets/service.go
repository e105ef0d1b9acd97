package datasets

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/jobtech-dev/datahub/connector-kit/schema"
	"github.com/jobtech-dev/datahub/hub/internal/applied"
	"github.com/jobtech-dev/datahub/hub/internal/audit"
	"github.com/jobtech-dev/datahub/hub/internal/registry"
)

// Auditor is what the service needs of the audit log (*audit.Writer is
// one): entries stored before a change is answered, and entries stored in
// the background without loss.
type Auditor interface {
	Record(ctx context.Context, e audit.Entry) (audit.Entry, error)
	Submit(e audit.Entry)
}

// Deps are what the service works with. Only JS, Registry and Audit are
// required.
type Deps struct {
	JS       jetstream.JetStream
	Registry *registry.Registry
	Audit    Auditor
	Logger   *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Replicas is the replication of the bucket and of new streams (1 on
	// a single node).
	Replicas int
	// Changed is called after the set of datasets changed (one added,
	// retired, restored or deleted), so live connections are judged again
	// (access.Service.DatasetsChanged); it returns how many it cut.
	Changed func() int
	// DeleteStream deletes a dataset's stream on purpose
	// (integrity.Tracker.DeleteStream, so the deletion is not reported as
	// data loss); nil calls del alone.
	DeleteStream func(ctx context.Context, stream string, del func(context.Context) error) error
	// ForgetOwners removes the key owners of a deleted dataset
	// (owners.Store.Forget); nil: none kept.
	ForgetOwners func(ctx context.Context, dataset string) (int, error)
	// CompileOptions are given to every schema version compiled
	// (schema.WithTaxonomy: the hub's live taxonomy index).
	CompileOptions []schema.Option
}

// Service keeps and changes the registry's state.
type Service struct {
	Deps
	log *slog.Logger
	kv  jetstream.KeyValue

	mu     sync.Mutex // one change at a time; guards rev
	rev    uint64     // the head revision the registry holds
	origin atomic.Pointer[applied.Origin]

	// beforeHead, when set (tests only), runs before the head is written.
	beforeHead func()
}

// Open opens (or creates) the bucket. The registry is left as it is until
// [Service.LoadInitial].
func Open(ctx context.Context, d Deps) (*Service, error) {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Replicas < 1 {
		d.Replicas = 1
	}
	kv, err := d.JS.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: Bucket,
		Description: "the dataset registry: declarations and every schema version", History: 5,
		Storage: jetstream.FileStorage, Replicas: d.Replicas})
	if err != nil {
		return nil, fmt.Errorf("open dataset registry bucket %s: %w", Bucket, err)
	}
	return &Service{Deps: d, log: d.Logger.With("component", "datasets"), kv: kv}, nil
}

// Origin is how the state in force was last changed; Route is "" when that
// is unknown (nothing applied yet).
func (s *Service) Origin() applied.Origin {
	if o := s.origin.Load(); o != nil {
		return *o
	}
	return applied.Origin{}
}

// Digest identifies the state in force (see the package doc).
func (s *Service) Digest() string { return digest(s.Registry.List()) }

// current is the state in force; s.mu is held.
func (s *Service) current() *state {
	return &state{datasets: s.Registry.List(), rev: s.rev}
}

// commit makes ds the state: the new versions first, then the head (if it
// is still at the revision the change started from), then how it was
// applied; then the registry is swapped and connections judged again when
// the set of datasets changed. s.mu is held.
func (s *Service) commit(ctx context.Context, from *state, ds []*registry.Dataset, fresh map[string][]*registry.Version, o applied.Origin, setChanged bool) (recut int, err error) {
	for name, vs := range fresh {
		for _, v := range vs {
			if err := s.writeVersion(ctx, name, v); err != nil {
				return 0, err
			}
		}
	}
	if s.beforeHead != nil {
		s.beforeHead()
	}
	rev, err := s.writeHead(ctx, ds, from.rev)
	if err != nil {
		return 0, err
	}
	s.rev = rev
	o.Digest, o.At = digest(ds), s.Now().UTC()
	if err := applied.Write(ctx, s.kv, originKey, o); err != nil {
		// The state is in force whatever happens here; only how it came
		// is then unknown.
		s.log.Warn("datasets applied but how could not be recorded", "err", err)
	} else {
		s.origin.Store(&o)
	}
	s.Registry.Replace(ds)
	if setChanged && s.Changed != nil {
		recut = s.Changed()
	}
	return recut, nil
}

// recordNow stores an audit entry before the change it records is
// answered; the error says the change stands but its entry is not stored
// yet (the writer keeps retrying it).
func (s *Service) recordNow(ctx context.Context, e audit.Entry) error {
	if _, err := s.Audit.Record(ctx, e); err != nil {
		s.log.Error("audit entry not stored before answering", "kind", e.Kind, "actor", e.Actor, "subject", e.Subject, "err", err)
		return fmt.Errorf("its audit entry is not stored yet: %w", err)
	}
	return nil
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		return json.RawMessage(`null`)
	}
	return b
}

// replicasOf is how many copies of d's stream to keep: its declaration's
// replicas when it gives some, else the hub's (3 in a cluster, 1 alone).
// A cluster node raises the copies further as nodes join.
func (s *Service) replicasOf(d *registry.Dataset) int {
	if d.Replicas > 0 {
		return d.Replicas
	}
	return s.Replicas
}
