package federation_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jobtech-dev/datahub/connector-kit/kit"
	"github.com/jobtech-dev/datahub/hub/internal/federation"
)

// The giving hub's peer list counts as pending the records a peer took
// delivery of and has not acknowledged, not only those not delivered yet:
// a link stuck on unacked records shows them.
func TestGivingSideCountsDeliveredUnackedAsPending(t *testing.T) {
	t.Parallel()
	a := startHub(t, "a", grants(map[string][]string{"b": {"jobads"}}))
	creds := a.give("b")
	publish(t, a.actor(), "jobads", "p", ads("p", 5))

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	peer, err := kit.Dial(ctx, a.NATSURL(), creds, kit.WithLocalValidation(false))
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	got := make(chan uint64, 10)
	// A link's subscription that takes the records and never acks them.
	sub, err := peer.Subscribe(ctx, "jobads", func(_ context.Context, d kit.Delivery) error { got <- d.Seq; return nil },
		kit.Durable(federation.Durable), kit.ManualAck(), kit.AckWait(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sub.Stop() }()
	for range 5 {
		<-got
	}
	eventually(t, 10*time.Second, "a's peer list", func() (bool, string) {
		for _, p := range a.peers() {
			if p.Identity == nil {
				continue
			}
			for _, s := range p.Identity.Subscriptions {
				if s.Dataset == "jobads" {
					return s.Pending == 5 && s.AckFloor == 0, fmt.Sprintf("ack floor %d, pending %d; want 0 and 5 (delivered, not acked)", s.AckFloor, s.Pending)
				}
			}
		}
		return false, "no subscription of b on jobads"
	})
}
