package datasets

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// Follow watches the registry's head until ctx ends, so datasets and
// schema versions applied through another node of a cluster are in force
// on this one within moments: its validators, delivery and API see them,
// and its connections are judged again. The applying node alone creates
// the streams and audits the change.
func (s *Service) Follow(ctx context.Context) error {
	w, err := s.kv.Watch(ctx, headKey, jetstream.UpdatesOnly())
	if err != nil {
		return fmt.Errorf("watch the dataset registry: %w", err)
	}
	go func() {
		defer func() { _ = w.Stop() }()
		for {
			select {
			case <-ctx.Done():
				return
			case e, ok := <-w.Updates():
				if !ok {
					return
				}
				if e != nil && e.Operation() == jetstream.KeyValuePut {
					s.followed(ctx, e.Revision())
				}
			}
		}
	}()
	return nil
}

// followed puts in force the state another node committed at rev.
func (s *Service) followed(ctx context.Context, rev uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rev <= s.rev {
		return // this node's own change, or one older than the state in force
	}
	st, err := s.readState(ctx)
	if err != nil {
		s.log.Error("datasets applied through another node cannot be read; the datasets in force stay", "revision", rev, "err", err)
		return
	}
	if st.rev <= s.rev {
		return
	}
	s.rev = st.rev
	s.Registry.Replace(st.datasets)
	cut := 0
	if s.Changed != nil {
		cut = s.Changed()
	}
	s.log.Info("datasets applied through another node are in force here", "datasets", len(st.datasets), "digest", digest(st.datasets)[:12], "recut", cut)
}
