package access

import (
	"context"
	"encoding/json"
	"fmt"

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
	w, err := s.kv.WatchAll(context.Background())
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
			switch e.Key() {
			case policyKey:
				s.applied(e)
			case originKey:
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
	if old.Digest() == set.Digest() {
		return
	}
	s.set.Store(set)
	cut := s.reevaluate()
	s.poke()
	s.pokeGrace()
	d := policy.DiffSets(old, set)
	s.log.Info("policies applied through another node are in force here", "digest", set.Digest()[:12], "policies", set.Len(),
		"added", d.Added, "removed", d.Removed, "changed", d.Changed, "recut", cut)
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
	cut := s.kickWhere(func(st connState) bool { return st.grant.Actor == a.Name })
	cut += s.NATS.Kick(a.Name)
	if cut > 0 {
		s.log.Info("actor revoked: its connections to this node are cut", "actor", a.Name, "connections_cut", cut)
	}
}
