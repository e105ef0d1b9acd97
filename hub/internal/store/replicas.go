package store

import (
	"context"

	"github.com/nats-io/nats.go/jetstream"
)

// KeepReplicas returns want, raised to the number of copies stream has
// now when that is more: a node never lowers a stream's replicas by itself,
// so one that starts while other nodes are down (and JetStream could place
// fewer copies) does not shrink what the cluster keeps. A stream that does
// not exist yet gets want.
func KeepReplicas(ctx context.Context, js jetstream.JetStream, stream string, want int) int {
	want = max(want, 1)
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return want
	}
	info, err := s.Info(ctx)
	if err != nil {
		return want
	}
	return max(want, info.Config.Replicas)
}
