package federation_test

import (
	"fmt"
	"testing"
	"time"
)

// A grant revoked on the giving hub stops the flow at once: records
// published after the apply answered never reach the taking hub. Restored,
// the flow resumes after the last record taken, without gap or duplicate.
// The same holds when the peer's identity itself is revoked and created
// again with the same key (its position on the giving hub is gone then:
// the taking hub resumes from the one it keeps).
func TestRevokedGrantStopsTheFlowAndARestoredOneResumes(t *testing.T) {
	t.Parallel()
	a := startHub(t, "a", grants(map[string][]string{"b": {"jobads"}}))
	b := startHub(t, "b", grants(nil))
	credsB := a.give("b")
	b.take("a", a.NATSURL(), credsB, []string{"jobads"})
	jobbland := a.actor()

	var want []string
	batch := func(n int) []string {
		ids := publish(t, jobbland, "jobads", fmt.Sprintf("r%d-", len(want)), ads(fmt.Sprintf("ad%d-", len(want)), n))
		want = append(want, ids...)
		return ids
	}
	batch(30)
	eventually(t, 30*time.Second, "first batch on b", func() (bool, string) { return exactlyOnce(b, "jobads", want) })

	// Revoked: the apply cuts the link's connection before it answers.
	a.setPolicies(grants(nil))
	before := len(want)
	batch(30)
	time.Sleep(2 * time.Second)
	if n := b.count("jobads"); n != before {
		t.Fatalf("b holds %d records 2s after the grant was revoked, want the %d taken before", n, before)
	}
	for _, p := range a.peers() {
		if p.Identity != nil && (len(p.Identity.Subscriptions) != 1 || !p.Identity.Subscriptions[0].Suspended) {
			t.Errorf("a's view of the peer after the revoke: %+v", p.Identity)
		}
	}

	// Restored: everything published meanwhile comes, once.
	a.setPolicies(grants(map[string][]string{"b": {"jobads"}}))
	eventually(t, 30*time.Second, "records after the restored grant", func() (bool, string) { return exactlyOnce(b, "jobads", want) })

	// The identity revoked (its subscription on a deleted) and created again.
	var key string
	for _, p := range a.peers() {
		if p.Identity != nil {
			key = p.Identity.PublicKey
		}
	}
	a.CLI("peer", "revoke", "b")
	batch(30)
	time.Sleep(time.Second)
	if n := b.count("jobads"); n != len(want)-30 {
		t.Fatalf("b holds %d records after its identity was revoked, want %d", n, len(want)-30)
	}
	a.CLI("peer", "create", "b", "--public-key", key)
	batch(10)
	eventually(t, 60*time.Second, "records after the identity came back", func() (bool, string) { return exactlyOnce(b, "jobads", want) })
	for _, p := range b.peers() {
		if p.Link == nil {
			continue
		}
		for _, d := range p.Link.Status.Datasets {
			if d.Duplicates != 0 || d.Received != uint64(len(want)) {
				t.Errorf("b's link took records again after the identity came back (it should resume after its last): %+v", d)
			}
		}
	}
}
