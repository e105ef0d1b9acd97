package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/hub/internal/registry"
)

// DeadLetterConfig bounds the dead-letter stream so a flood of bad records
// cannot fill the disk; the oldest rejections go first.
type DeadLetterConfig struct {
	MaxAge   time.Duration // default 30 days
	MaxBytes int64         // default 1 GiB
	Replicas int
}

// StreamConfig is the JetStream stream that holds d.
func StreamConfig(d *registry.Dataset, replicas int) jetstream.StreamConfig {
	if replicas < 1 {
		replicas = 1
	}
	cfg := jetstream.StreamConfig{
		Name:        wire.StreamName(d.Name),
		Description: d.Title,
		Subjects:    []string{wire.DataFilter(d.Name)},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardOld,
		MaxAge:      d.Retention,
		Duplicates:  d.DedupeWindow,
		Replicas:    replicas,
		AllowDirect: true,
		MaxMsgsPerSubject: func() int64 {
			if d.MaxPerKey > 0 {
				return d.MaxPerKey
			}
			return -1
		}(),
		Metadata: map[string]string{
			"hub.dataset":        d.Name,
			"hub.schema_version": fmt.Sprint(d.SchemaVersion),
			MetaKeyScope:         d.KeyScope,
		},
	}
	if cfg.Duplicates == 0 {
		cfg.Duplicates = time.Hour
	}
	return cfg
}

// MetaKeyScope is the stream metadata field that records the key scope its
// records were stored under: the subjects differ (one per key, or one per key
// and publisher), so a stream holding records cannot change it. A stream
// without it predates key scopes and was stored one subject per key.
const MetaKeyScope = "hub.key_scope"

// EnsureDataset creates d's stream, or updates it to match d. Updating never
// drops stored records that the new limits still allow. A stream that holds
// records stored under another key scope is refused with an error naming the
// declaration's key_scope (wrapping registry.ErrInvalidDeclaration).
func EnsureDataset(ctx context.Context, js jetstream.JetStream, d *registry.Dataset, replicas int) error {
	if err := CheckKeyScope(ctx, js, d); err != nil {
		return err
	}
	cfg := StreamConfig(d, replicas)
	if _, err := js.CreateOrUpdateStream(ctx, cfg); err != nil {
		return fmt.Errorf("ensure stream %s for dataset %s: %w", cfg.Name, d.Name, err)
	}
	return nil
}

// CheckKeyScope refuses d when its stream holds records stored under
// another key scope, with an error naming the declaration's key_scope
// (wrapping registry.ErrInvalidDeclaration); a stream that does not exist
// or holds nothing takes any scope.
func CheckKeyScope(ctx context.Context, js jetstream.JetStream, d *registry.Dataset) error {
	name := wire.StreamName(d.Name)
	s, err := js.Stream(ctx, name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("ensure stream %s for dataset %s: %w", name, d.Name, err)
	}
	info := s.CachedInfo()
	was := info.Config.Metadata[MetaKeyScope]
	if was == "" {
		was = wire.KeyScopeDataset
	}
	if was != d.KeyScope && info.State.Msgs > 0 {
		return d.KeyScopeError("%q, but the stream %s already holds %d records stored with key_scope %q; "+
			"the key scope of a dataset that holds records cannot change (keep %q, or declare a new dataset)",
			d.KeyScope, name, info.State.Msgs, was, was)
	}
	return nil
}

// EnsureDeadLetter creates or updates the dead-letter stream.
func EnsureDeadLetter(ctx context.Context, js jetstream.JetStream, c DeadLetterConfig) error {
	if c.MaxAge == 0 {
		c.MaxAge = 30 * 24 * time.Hour
	}
	if c.MaxBytes == 0 {
		c.MaxBytes = 1 << 30
	}
	if c.Replicas < 1 {
		c.Replicas = 1
	}
	_, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        wire.DeadLetterStream,
		Description: "records the hub rejected, with the reason",
		Subjects:    []string{wire.DeadLetterPrefix + ".>"},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardOld,
		MaxAge:      c.MaxAge,
		MaxBytes:    c.MaxBytes,
		Replicas:    c.Replicas,
	})
	if err != nil {
		return fmt.Errorf("ensure stream %s: %w", wire.DeadLetterStream, err)
	}
	return nil
}

// Stats is the state of a dataset's stream, for the catalog and the API.
type Stats struct {
	Records  uint64    `json:"records"`
	Bytes    uint64    `json:"bytes"`
	Keys     uint64    `json:"keys"`
	FirstSeq uint64    `json:"first_seq"`
	LastSeq  uint64    `json:"last_seq"`
	LastAt   time.Time `json:"last_at,omitzero"`
	// Replicas is how many nodes keep a copy (1 on a single hub); in a
	// cluster Leader is the node that takes its writes, Current the copies
	// that are caught up with it (leader included).
	Replicas int    `json:"replicas"`
	Leader   string `json:"leader,omitempty"`
	Current  int    `json:"current,omitempty"`
}

// DatasetStats reads the state of dataset's stream.
func DatasetStats(ctx context.Context, js jetstream.JetStream, dataset string) (Stats, error) {
	s, err := js.Stream(ctx, wire.StreamName(dataset))
	if err != nil {
		return Stats{}, fmt.Errorf("stream of dataset %s: %w", dataset, err)
	}
	// js.Stream has just asked for the stream's info: one request, not two
	// (a busy server answers stream info slowly; pages ask it per view).
	info := s.CachedInfo()
	st := info.State
	out := Stats{Records: st.Msgs, Bytes: st.Bytes, Keys: st.NumSubjects, FirstSeq: st.FirstSeq, LastSeq: st.LastSeq, LastAt: st.LastTime,
		Replicas: max(info.Config.Replicas, 1)}
	if c := info.Cluster; c != nil && c.Leader != "" {
		out.Leader, out.Current = c.Leader, 1
		for _, r := range c.Replicas {
			if r != nil && r.Current {
				out.Current++
			}
		}
	}
	return out, nil
}

// ErrNoStream is returned when a dataset has no stream yet.
var ErrNoStream = errors.New("dataset has no stream")
