package datasets_test

import (
	"strings"
	"testing"

	"github.com/jobtech-dev/datahub/hub/internal/hubtest"
)

// A start with a schemas folder applies it as an apply without prune:
// datasets applied through the API and not in the folder stay; a folder
// that changes what was applied another way is applied, with a WARN and a
// dataset.override audit entry; a start with --schemas ” keeps the state
// applied, whatever the folder says.
func TestStartFolderAgainstAppliedState(t *testing.T) {
	t.Parallel()
	folder := schemasCopy(t, nil)
	cfg := hubtest.Config(t.TempDir())
	cfg.Schemas = folder
	n := hubtest.Start(t, cfg)
	c := newClient(t, n)
	changed := withGigs(t)
	writeFile(t, changed+"/taxonomy-concepts/dataset.yaml",
		strings.Replace(string(hubtest.ReadFile(t, folder+"/taxonomy-concepts/dataset.yaml")), "title: Taxonomy concepts", "title: Concepts", 1))
	c.applyOK(changed, false)
	hubtest.Stop(t, n)

	n = hubtest.Start(t, cfg)
	c = newClient(t, n)
	if _, ok := n.Registry().Get("gigs"); !ok {
		t.Fatal("a start with a folder dropped a dataset applied through the API")
	}
	if d, _ := n.Registry().Get("taxonomy-concepts"); d.Title != "Taxonomy concepts" {
		t.Fatalf("the folder's title is not in force after the start: %q", d.Title)
	}
	if err := n.Access().Flush(t.Context()); err != nil { // the audit writer's queue
		t.Fatal(err)
	}
	var entry map[string]any
	if es := c.audit("dataset.override"); len(es) > 0 {
		entry = es[0]
	}
	if entry == nil {
		t.Fatal("no dataset.override entry for a start that changed datasets applied through the API")
	}
	d := mustString(entry["detail"])
	for _, want := range []string{`"taxonomy-concepts"`, `"route":"api"`, `"previous_origin":{`, folder} {
		if !strings.Contains(d, want) {
			t.Errorf("override entry lacks %s: %s", want, d)
		}
	}
	if strings.Contains(d, `"gigs"`) {
		t.Errorf("override entry names gigs, which the start kept: %s", d)
	}
	// The same folder again is not an override.
	overrides := len(c.audit("dataset.override"))
	hubtest.Stop(t, n)
	n = hubtest.Start(t, cfg)
	c = newClient(t, n)
	if err := n.Access().Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := len(c.audit("dataset.override")); got != overrides {
		t.Fatalf("a start with the folder last applied was audited as an override (%d → %d)", overrides, got)
	}

	// --schemas '': the state applied through the API stays.
	c.applyOK(changed, false)
	hubtest.Stop(t, n)
	cfg.Schemas = ""
	n = hubtest.Start(t, cfg)
	if d, _ := n.Registry().Get("taxonomy-concepts"); d == nil || d.Title != "Concepts" {
		t.Fatalf("a start without a folder did not keep the applied state: %+v", d)
	}
	if len(n.Registry().List()) != shipped(t)+1 {
		t.Fatalf("datasets: %d", len(n.Registry().List()))
	}
}
