package access_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jobtech-dev/datahub/hub/internal/access"
	"github.com/jobtech-dev/datahub/hub/internal/actors"
	"github.com/jobtech-dev/datahub/hub/internal/audit"
	"github.com/jobtech-dev/datahub/hub/internal/hubtest"
	"github.com/jobtech-dev/datahub/hub/internal/node"
)

// nodeService is the access service another node of a cluster would run on
// the same replicated state.
func nodeService(t *testing.T, n *node.Node, name string) (*access.Service, *audit.Writer) {
	t.Helper()
	ctx := ctxT(t)
	st, err := actors.Open(ctx, n.JetStream(), actors.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	w := audit.NewWriter(t.Context(), n.Audit(), audit.WriterOptions{})
	s, err := access.New(ctx, access.Deps{Actors: st, Registry: n.Registry(), Audit: w, NATS: n.NATS(), JS: n.JetStream(),
		Logger: hubtest.Logger(t), Node: name, Leader: func() bool { return false }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = w.Close(ctx)
	})
	return s, w
}

// TestStaleFolderOnAnotherNodeIsNoSilentOverwrite: the policies folder has
// the same path on every machine of a cluster, but not the same content.
// Node 2 starts with an edited folder; node 1 then restarts with its older
// copy at the same path. That is not "the folder that was applied": the
// start says so (a policy.override entry naming node 2's apply) instead of
// putting the old set back silently.
func TestStaleFolderOnAnotherNodeIsNoSilentOverwrite(t *testing.T) {
	t.Parallel()
	n := hubtest.StartNew(t)
	folder := filepath.Join(t.TempDir(), "policies")
	write := func(extraPolicy bool) {
		t.Helper()
		_ = os.RemoveAll(folder)
		if err := os.MkdirAll(folder, 0o700); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"publishers.json", "consumers.json", "groups.yaml"} {
			if err := os.WriteFile(filepath.Join(folder, f), hubtest.ReadFile(t, filepath.Join(hubtest.RepoRoot(), "policies", f)), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		if extraPolicy {
			extra := `[{"id":"jobfinder-reads-taxonomy","subjects":["actor:jobfinder"],"resources":["dataset:taxonomy-concepts"],"actions":["subscribe"],"effect":"allow"}]`
			if err := os.WriteFile(filepath.Join(folder, "extra.json"), []byte(extra), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Node 1 starts with the folder.
	write(false)
	n1, w1 := nodeService(t, n, "n1")
	if err := n1.LoadInitial(ctxT(t), folder); err != nil {
		t.Fatal(err)
	}
	// Node 2's copy of the folder was edited; it starts with it.
	write(true)
	n2, w2 := nodeService(t, n, "n2")
	if err := n2.LoadInitial(ctxT(t), folder); err != nil {
		t.Fatal(err)
	}
	if o := n2.PolicyOrigin(); o.Route != access.RouteFolder || o.Node != "n2" {
		t.Fatalf("origin after node 2's start: %+v", o)
	}
	// Node 1 restarts with its older copy, at the same path.
	write(false)
	again, w3 := nodeService(t, n, "n1")
	if err := again.LoadInitial(ctxT(t), folder); err != nil {
		t.Fatal(err)
	}
	for _, w := range []*audit.Writer{w1, w2, w3} {
		if err := w.Flush(ctxT(t)); err != nil {
			t.Fatal(err)
		}
	}
	var overrides []string
	if err := n.Audit().Tail(ctxT(t), 0, false, func(e audit.Entry) error {
		if e.Kind == audit.KindPolicyOverride {
			overrides = append(overrides, string(e.Detail))
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var last string
	if len(overrides) > 0 {
		last = overrides[len(overrides)-1]
	}
	if !strings.Contains(last, `"dropped":["jobfinder-reads-taxonomy"]`) || !strings.Contains(last, `"node":"n2"`) {
		t.Fatalf("node 1's start with a stale copy of the folder was not audited as an override of node 2's apply; overrides: %v", overrides)
	}
}

// TestLayerAppliedOnOneNodeHoldsOnAnother: an access request approved on
// one node (a policy layer) is in force on another node of the cluster
// within moments, and stays there when the policy files are applied again
// through the first node.
func TestLayerAppliedOnOneNodeHoldsOnAnother(t *testing.T) {
	t.Parallel()
	n := hubtest.StartNew(t)
	other, _ := nodeService(t, n, "n2")
	if err := other.LoadInitial(ctxT(t), ""); err != nil {
		t.Fatal(err)
	}
	layer := `[{"id":"request-jobfinder-jobads","subjects":["actor:jobfinder"],"resources":["dataset:jobads"],"actions":["subscribe"],"effect":"allow"}]`
	if _, err := n.Access().ApplyLayer(ctxT(t), "access-requests", map[string][]byte{"requests.json": []byte(layer)}, audit.ActorAdmin); err != nil {
		t.Fatal(err)
	}
	holds := func(what string) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			ids := other.Policies().Layers()["access-requests"]
			if len(ids) == 1 && ids[0] == "request-jobfinder-jobads" {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: the other node's layers are %v", what, other.Policies().Layers())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	holds("after the approval on the first node")
	if _, err := n.Access().Apply(ctxT(t), n.Access().Policies().Base(), audit.ActorAdmin); err != nil {
		t.Fatal(err)
	}
	// The files applied again through the first node: the other node
	// follows the apply and keeps the layer on top.
	time.Sleep(500 * time.Millisecond)
	holds("after the files were applied again")
}
