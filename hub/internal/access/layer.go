package access

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/jobtech-dev/datahub/hub/internal/audit"
	"github.com/jobtech-dev/datahub/hub/internal/policy"
)

// layerKeyPrefix prefixes the policy bucket's key of each layer.
const layerKeyPrefix = "layer."

// KindPolicyLayer is the audit entry of a layer applied.
const KindPolicyLayer = "policy.layer"

// withLayers returns base with every layer in force on top. Call with
// applyMu held.
func (s *Service) withLayers(base *policy.Set) (*policy.Set, error) {
	set := base
	for _, name := range slices.Sorted(maps.Keys(s.layers)) {
		var err error
		if set, err = set.WithLayer(name, s.layers[name]); err != nil {
			return nil, fmt.Errorf("policy layer %s over the applied files: %w", name, err)
		}
	}
	return set, nil
}

// ApplyLayer puts the policies of files in force as the layer name, beside
// the applied policy files (replacing the layer's earlier policies):
// persisted, audited, and live connections whose rights change are cut
// within the call, as an apply of the files does. Applying the files later
// keeps every layer. An empty files map removes the layer's policies. A
// policy that does not load, or whose id is taken, changes nothing.
func (s *Service) ApplyLayer(ctx context.Context, name string, files map[string][]byte, by string) (ApplyResult, error) {
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	base := s.set.Load().Base()
	next, err := base.WithLayer(name, files)
	if err != nil {
		return ApplyResult{}, err
	}
	b, err := json.Marshal(files)
	if err != nil {
		return ApplyResult{}, fmt.Errorf("encode layer %s: %w", name, err)
	}
	if _, err := s.kv.Put(ctx, layerKeyPrefix+name, b); err != nil {
		return ApplyResult{}, fmt.Errorf("persist layer %s: %w", name, err)
	}
	if s.layers == nil {
		s.layers = map[string]map[string][]byte{}
	}
	old := s.layers[name]
	s.layers[name] = files
	effective, err := s.withLayers(base)
	if err != nil {
		s.layers[name] = old
		return ApplyResult{}, err
	}
	prev := s.set.Load()
	s.set.Store(effective)
	res := ApplyResult{Changed: true, Digest: base.Digest(), Policies: next.Layers()[name], Diff: policy.DiffSets(prev, effective)}
	res.Recut = s.reevaluate()
	ch := s.reconcileSubscriptions(ctx)
	res.SubscriptionsSuspended, res.SubscriptionsResumed, res.SubscriptionsRemoved = len(ch.Suspended), len(ch.Resumed), len(ch.Expired)
	s.auditSubscriptions(ch, by)
	s.poke()
	s.pokeGrace()
	s.log.Info("policy layer applied", "layer", name, "by", by, "policies", len(res.Policies), "recut", res.Recut)
	if err := s.recordNow(ctx, audit.Entry{Kind: KindPolicyLayer, Actor: by, Subject: name,
		Detail: mustJSON(map[string]any{"layer": name, "policies": res.Policies, "added": res.Diff.Added, "removed": res.Diff.Removed,
			"changed": res.Diff.Changed, "recut": res.Recut})}); err != nil {
		return res, fmt.Errorf("layer %s applied, but %w", name, err)
	}
	return res, nil
}

// loadLayers reads the layers persisted in the policy bucket. Call before
// the first apply of a start.
func (s *Service) loadLayers(ctx context.Context) error {
	lister, err := s.kv.ListKeys(ctx)
	if err != nil && !errors.Is(err, jetstream.ErrNoKeysFound) {
		return fmt.Errorf("list policy layers: %w", err)
	}
	layers := map[string]map[string][]byte{}
	if lister != nil {
		for k := range lister.Keys() {
			name, ok := strings.CutPrefix(k, layerKeyPrefix)
			if !ok {
				continue
			}
			e, err := s.kv.Get(ctx, k)
			if err != nil {
				return fmt.Errorf("read policy layer %s: %w", name, err)
			}
			var files map[string][]byte
			if err := json.Unmarshal(e.Value(), &files); err != nil {
				return fmt.Errorf("decode policy layer %s: %w", name, err)
			}
			layers[name] = files
		}
	}
	s.applyMu.Lock()
	s.layers = layers
	s.applyMu.Unlock()
	return nil
}
