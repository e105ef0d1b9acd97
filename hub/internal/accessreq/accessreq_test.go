package accessreq_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nkeys"

	"github.com/jobtech-dev/datahub/connector-kit/kit"
	"github.com/jobtech-dev/datahub/hub/internal/accessreq"
	"github.com/jobtech-dev/datahub/hub/internal/hubtest"
	"github.com/jobtech-dev/datahub/hub/internal/policy"
)

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestApprovalTakesEffectAtOnceInItsOwnLayer: an actor with no right to job
// ads asks for one; approved, its live kit client subscribes at once and
// receives records; the grant is in the access-requests layer, which
// explain names and an apply of the policies folder keeps.
func TestApprovalTakesEffectAtOnceInItsOwnLayer(t *testing.T) {
	t.Parallel()
	n := hubtest.StartNew(t)
	kp, _ := nkeys.CreateUser()
	pub, _ := kp.PublicKey()
	if _, err := n.Access().CreateActor(ctxT(t), "newcomer", pub, "admin"); err != nil {
		t.Fatal(err)
	}
	c, err := kit.DialKey(ctxT(t), n.NATSURL(), "newcomer", pub, kp.Sign, kit.WithLogger(hubtest.Logger(t)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	var got atomic.Int64
	handler := func(context.Context, kit.Delivery) error { got.Add(1); return nil }
	if _, err := c.Subscribe(ctxT(t), "jobads", handler); !errors.Is(err, kit.ErrForbidden) {
		t.Fatalf("subscribe before approval: %v, want forbidden", err)
	}
	rs := n.Requests()
	until := time.Now().Add(48 * time.Hour)
	req, err := rs.Create(ctxT(t), "newcomer", "jobads", policy.ActionSubscribe, "labour-market research <script>alert(1)</script>", until)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rs.Create(ctxT(t), "newcomer", "jobads", policy.ActionSubscribe, "again", until); !errors.Is(err, accessreq.ErrDuplicate) {
		t.Fatalf("second pending request: %v", err)
	}
	if _, err := rs.Approve(ctxT(t), req.ID, "admin", ""); err != nil {
		t.Fatal(err)
	}
	// The live client was cut and came back with the new right.
	var sub *kit.Subscription
	deadline := time.Now().Add(10 * time.Second)
	for {
		// Each try is short: one sent while the cut connection comes back
		// (a few hundred ms) may be lost with it.
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		sub, err = c.Subscribe(ctx, "jobads", handler)
		cancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("subscribe after approval: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	defer sub.Stop()
	ad := hubtest.ReadFile(t, hubtest.RepoRoot()+"/schemas/jobads/examples/valid/small-ad.json")
	pk, _ := nkeys.CreateUser()
	ppub, _ := pk.PublicKey()
	if _, err := n.Access().CreateActor(ctxT(t), "arbetsformedlingen", ppub, "admin"); err != nil {
		t.Fatal(err)
	}
	pc, err := kit.DialKey(ctxT(t), n.NATSURL(), "arbetsformedlingen", ppub, pk.Sign, kit.WithLogger(hubtest.Logger(t)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	if _, err := pc.Publish(ctxT(t), "jobads", ad); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); got.Load() == 0; {
		if time.Now().After(deadline) {
			t.Fatal("the approved subscription received nothing")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Explain names the layer; applying the folder keeps it.
	explain := func() string {
		for _, l := range n.Access().Policies().Explain("newcomer", []string{"jobads"}, time.Now()) {
			if l.Action == policy.ActionSubscribe {
				return l.String()
			}
		}
		return ""
	}
	if e := explain(); !strings.Contains(e, "allow") || !strings.Contains(e, "[layer access-requests]") {
		t.Fatalf("explain: %s", e)
	}
	set, err := policy.LoadDir(hubtest.RepoRoot() + "/policies")
	if err != nil {
		t.Fatal(err)
	}
	empty, _ := policy.LoadFiles(map[string][]byte{})
	if _, err := n.Access().Apply(ctxT(t), empty, "admin"); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Access().Apply(ctxT(t), set, "admin"); err != nil {
		t.Fatal(err)
	}
	if e := explain(); !strings.Contains(e, "[layer access-requests]") {
		t.Fatalf("explain after applying the folder: %s", e)
	}
	shown, _ := rs.Get(ctxT(t), req.ID)
	if shown.State != accessreq.StateApproved || shown.PolicyID == "" {
		t.Fatalf("request after approval: %+v", shown)
	}
}

func TestDeclineNeedsAReasonAndIsFinal(t *testing.T) {
	t.Parallel()
	n := hubtest.StartNew(t)
	rs := n.Requests()
	req, err := rs.Create(ctxT(t), "ifau", "jobads", policy.ActionSubscribe, "study", time.Now().Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rs.Decline(ctxT(t), req.ID, "admin", " "); !errors.Is(err, accessreq.ErrInvalid) {
		t.Fatalf("decline without reason: %v", err)
	}
	d, err := rs.Decline(ctxT(t), req.ID, "admin", "no agreement yet")
	if err != nil || d.State != accessreq.StateDeclined || d.Reason != "no agreement yet" {
		t.Fatalf("decline: %+v %v", d, err)
	}
	if _, err := rs.Approve(ctxT(t), req.ID, "admin", ""); !errors.Is(err, accessreq.ErrDecided) {
		t.Fatalf("approve after decline: %v", err)
	}
	for _, bad := range []struct{ dataset, action, purpose string }{
		{"nosuch", "subscribe", "x"}, {"jobads", "register-schema", "x"}, {"jobads", "subscribe", ""}, {"jobads", "delete", "x"},
	} {
		if _, err := rs.Create(ctxT(t), "ifau", bad.dataset, bad.action, bad.purpose, time.Now().Add(time.Hour)); !errors.Is(err, accessreq.ErrInvalid) {
			t.Errorf("%+v: %v", bad, err)
		}
	}
	if _, err := rs.Create(ctxT(t), "ifau", "taxonomy-concepts", "subscribe", "x", time.Now().Add(-time.Hour)); !errors.Is(err, accessreq.ErrInvalid) {
		t.Errorf("end date in the past: %v", err)
	}
}
