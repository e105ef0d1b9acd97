package access

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/jobtech-dev/datahub/hub/internal/actors"
	"github.com/jobtech-dev/datahub/hub/internal/policy"
)

// decodeSet loads the policy set stored under policyKey.
func decodeSet(b []byte) (*policy.Set, error) {
	var files map[string][]byte
	if err := json.Unmarshal(b, &files); err != nil {
		return nil, fmt.Errorf("decode applied policies: %w", err)
	}
	set, err := policy.LoadFiles(files)
	if err != nil {
		return nil, fmt.Errorf("applied policies: %w", err)
	}
	return set, nil
}

// seen notes that the set in force is at least revision rev of the bucket,
// so the watch does not put an older one back.
func (s *Service) seen(rev uint64) {
	for {
		cur := s.rev.Load()
		if rev <= cur || s.rev.CompareAndSwap(cur, rev) {
			return
		}
	}
}

// leader reports whether this node runs the work time triggers.
func (s *Service) leader() bool { return s.Leader == nil || s.Leader() }

// follow watches the policy bucket, so a set applied through another node
// of the cluster is in force here within moments: this node's connections
// whose rights it changes are cut, like the applying node's own. The
// applying node alone audits the apply and moves the subscriptions.
func (s *Service) follow() error {
	w, err := s.kv.WatchAll(s.ctx)
	if err != nil {
		return fmt.Errorf("watch policies: %w", err)
	}
	s.watch, s.watchEnd = w, make(chan struct{})
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(s.watchEnd)
		for e := range w.Updates() {
			if e == nil || e.Operation() != jetstream.KeyValuePut {
				continue
			}
			switch {
			case e.Key() == policyKey:
				s.applied(e)
			case strings.HasPrefix(e.Key(), layerKeyPrefix):
				s.layerFollowed(e)
			case e.Key() == originKey:
				var o Origin
				if json.Unmarshal(e.Value(), &o) == nil {
					s.origin.Store(&o)
				}
			}
		}
	}()
	return nil
}

// applied puts in force a set that another node stored.
func (s *Service) applied(e jetstream.KeyValueEntry) {
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	if e.Revision() <= s.rev.Load() {
		return // this node's own apply, or one older than the set in force
	}
	set, err := decodeSet(e.Value())
	if err != nil {
		s.log.Error("policies applied through another node cannot be read; the set in force stays", "revision", e.Revision(), "err", err)
		return
	}
	s.seen(e.Revision())
	old := s.set.Load()
	if old.Base().Digest() == set.Digest() {
		return
	}
	// The layers (access requests' time-boxed grants) stay on top of the
	// files, as on the applying node.
	effective, err := s.withLayers(set)
	if err != nil {
		s.log.Error("policy layers not in force over the policies applied through another node", "err", err)
		effective = set
	}
	s.set.Store(effective)
	cut := s.reevaluate()
	s.poke()
	s.pokeGrace()
	d := policy.DiffSets(old, set)
	s.log.Info("policies applied through another node are in force here", "digest", set.Digest()[:12], "policies", set.Len(),
		"added", d.Added, "removed", d.Removed, "changed", d.Changed, "recut", cut)
}

// layerFollowed puts in force a policy layer that another node stored (an
// access request approved there): its grant holds here within moments.
func (s *Service) layerFollowed(e jetstream.KeyValueEntry) {
	name := strings.TrimPrefix(e.Key(), layerKeyPrefix)
	var files map[string][]byte
	if err := json.Unmarshal(e.Value(), &files); err != nil {
		s.log.Error("policy layer applied through another node cannot be read; the policies in force stay", "layer", name, "err", err)
		return
	}
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	if reflect.DeepEqual(s.layers[name], files) {
		return // this node's own apply, or nothing new
	}
	if s.layers == nil {
		s.layers = map[string]map[string][]byte{}
	}
	old := s.layers[name]
	s.layers[name] = files
	effective, err := s.withLayers(s.set.Load().Base())
	if err != nil {
		s.layers[name] = old
		s.log.Error("policy layer applied through another node does not fit the policies in force here", "layer", name, "err", err)
		return
	}
	s.set.Store(effective)
	cut := s.reevaluate()
	s.poke()
	s.pokeGrace()
	s.log.Info("policy layer applied through another node is in force here", "layer", name, "recut", cut)
}

func (s *Service) stopFollowing() {
	if s.watch != nil {
		_ = s.watch.Stop()
		<-s.watchEnd
	}
}

// ActorRemoved cuts this node's connections of an actor revoked through any
// node (the actors store tells it, see actors.Options.Removed): the key is
// refused from then on, here as there.
func (s *Service) ActorRemoved(a actors.Actor) {
	cut := s.NATS.Kick(a.Name)
	if cut > 0 {
		s.log.Info("actor revoked: its connections to this node are cut", "actor", a.Name, "connections_cut", cut)
	}
}
