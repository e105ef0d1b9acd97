package federation_test

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nkeys"

	"github.com/jobtech-dev/datahub/hub/internal/audit"
	"github.com/jobtech-dev/datahub/hub/internal/federation"
	"github.com/jobtech-dev/datahub/hub/internal/hubtest"
	"github.com/jobtech-dev/datahub/hub/internal/ingest"
)

// discardAudit takes audit entries and keeps none.
type discardAudit struct{}

func (discardAudit) Record(_ context.Context, e audit.Entry) (audit.Entry, error) { return e, nil }
func (discardAudit) Submit(audit.Entry)                                           {}

// ours lists the goroutines running code of this package or of the kit
// (a link's connection), other than tests'.
func ours() []string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "testing.tRunner") {
			continue
		}
		if strings.Contains(g, "hub/internal/federation.") || strings.Contains(g, "connector-kit/kit.") {
			out = append(out, g)
		}
	}
	return out
}

// Stop ends every goroutine of the service: the supervisor, the bound's
// control loop, and a link that keeps dialling a peer that is not there.
// Not parallel: the other tests' links run kit goroutines too.
func TestStopEndsEveryGoroutine(t *testing.T) {
	n := hubtest.StartNew(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// The node runs its own service on the same bucket: this test's one
	// must hold the leases.
	n.Federation().Stop(ctx)
	if g := ours(); len(g) > 0 {
		t.Fatalf("before the test: %d goroutines of the service already:\n%s", len(g), strings.Join(g, "\n\n"))
	}
	svc, err := federation.New(ctx, federation.Deps{JS: n.JetStream(), Registry: n.Registry(), Ingest: ingest.New(nil, n.JetStream(), n.Registry(), ingest.Options{}),
		Audit: discardAudit{}, Hub: "b", Node: "b-test"})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Start(); err != nil {
		t.Fatal(err)
	}
	kp, _ := nkeys.CreateUser()
	seed, _ := kp.Seed()
	if _, err := svc.Add(ctx, federation.Link{Name: "a", URL: "nats://127.0.0.1:1", Identity: "hub_b", Seed: string(seed),
		Datasets: []federation.DatasetMap{{Remote: "jobads", Local: "jobads"}}}, false, "test"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		views, err := svc.Links(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(views) == 1 && views[0].Status.State == "unreachable" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the link does not run: %+v", views)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(ours()) < 3 {
		t.Fatalf("running: want the supervisor, the control loop and the link, got:\n%s", strings.Join(ours(), "\n\n"))
	}

	svc.Stop(ctx)
	// Stop returned: what is left may only be on its way out.
	deadline = time.Now().Add(time.Second)
	for g := ours(); len(g) > 0; g = ours() {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines outlive Stop:\n%s", len(g), strings.Join(g, "\n\n"))
		}
		time.Sleep(10 * time.Millisecond)
	}
}
