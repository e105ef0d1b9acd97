package asyncapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/jobtech-dev/datahub/hub/internal/asyncapi"
	"github.com/jobtech-dev/datahub/hub/internal/hubtest"
	"github.com/jobtech-dev/datahub/hub/internal/node"
)

// specSchema compiles the vendored AsyncAPI 3.0.0 JSON Schema (see
// testdata/README.md); nothing is fetched from the network: the compiler
// has no loader for http URLs, and draft-07 is built in.
func specSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open("testdata/asyncapi-3.0.0.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	const id = "http://asyncapi.com/definitions/3.0.0/asyncapi.json"
	if err := c.AddResource(id, doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(id)
	if err != nil {
		t.Fatalf("compile the AsyncAPI 3.0.0 schema: %v", err)
	}
	return s
}

func validate(t *testing.T, s *jsonschema.Schema, raw []byte) error {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("document is not JSON: %v", err)
	}
	return s.Validate(v)
}

// getDoc asks the running hub's API for its AsyncAPI document.
func getDoc(t *testing.T, n *node.Node, query string) []byte {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, n.HTTPURL()+"/api/v1/asyncapi.json"+query, nil)
	req.Header.Set("Authorization", "Bearer "+n.Token())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET asyncapi.json%s: %d %s", query, resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("content type %q, want application/json", ct)
	}
	return body
}

func startHub(t *testing.T, actors ...string) *node.Node {
	t.Helper()
	n := hubtest.StartNew(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, name := range actors {
		if _, err := n.Access().CreateActor(ctx, name, hubtest.NewActor(t, name).PublicKey(), "test"); err != nil {
			t.Fatal(err)
		}
	}
	return n
}

func TestDocumentIsValidAsyncAPI3(t *testing.T) {
	t.Parallel()
	spec := specSchema(t)
	n := startHub(t, "jobbland")
	for _, query := range []string{"", "?actor=jobbland"} {
		raw := getDoc(t, n, query)
		if err := validate(t, spec, raw); err != nil {
			t.Fatalf("asyncapi.json%s is not a valid AsyncAPI 3.0.0 document: %v", query, err)
		}
		var doc asyncapi.Document
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Fatal(err)
		}
		// Every dataset's message carries its latest schema, as the
		// registry holds it, with its format.
		for _, d := range n.Registry().List() {
			m, ok := doc.Components.Messages[d.Name]
			if query != "" && !ok {
				continue
			}
			if !ok {
				t.Fatalf("asyncapi.json%s: no message for dataset %s", query, d.Name)
			}
			if m.SchemaVersion != d.SchemaVersion || !jsonEqual(t, m.Payload.Schema, d.SchemaDoc) {
				t.Errorf("%s: payload is not schema version %d", d.Name, d.SchemaVersion)
			}
			if m.Payload.SchemaFormat != "application/schema+json;version=draft-2020-12" {
				t.Errorf("%s: schemaFormat %q", d.Name, m.Payload.SchemaFormat)
			}
		}
		if s, ok := doc.Servers["hub"]; !ok || s.Protocol != "nats" || "nats://"+s.Host != n.NATSURL() {
			t.Errorf("servers %+v, want hub at %s", doc.Servers, n.NATSURL())
		}
	}
	all := getDoc(t, n, "")
	var doc asyncapi.Document
	_ = json.Unmarshal(all, &doc)
	if got := doc.Channels["jobads.ingest"].Address; got != "ingest.jobads.{actor}" {
		t.Errorf("jobads ingest address %q", got)
	}
	if got := doc.Channels["jobads.deliver"].Address; got != "deliver.{actor}.jobads.{consumer}" {
		t.Errorf("jobads deliver address %q", got)
	}

	// The check can fail: one field out of the specification is refused.
	var broken map[string]any
	_ = json.Unmarshal(all, &broken)
	broken["operations"].(map[string]any)["jobads.publish"].(map[string]any)["action"] = "publish"
	b, _ := json.Marshal(broken)
	if err := validate(t, spec, b); err == nil || !strings.Contains(err.Error(), "action") {
		t.Fatalf("a document with action \"publish\" passed the AsyncAPI schema (err %v)", err)
	}
}

func TestActorDocumentHoldsOnlyItsRights(t *testing.T) {
	t.Parallel()
	n := startHub(t, "jobbland", "yrkeshogskolan", "matchwise")
	for actor, want := range map[string][]string{
		// policies/: job boards publish job ads; yrkeshogskolan publishes
		// its education offerings, reads the taxonomy and is denied job
		// ads; matchwise reads every dataset.
		"jobbland":       {"jobads.publish"},
		"yrkeshogskolan": {"education-offerings.publish", "taxonomy-concepts.subscribe"},
		"matchwise": {"education-offerings.subscribe", "gig-assignments.subscribe", "job-postings.subscribe",
			"jobads.subscribe", "taxonomy-concepts.subscribe"},
	} {
		var doc asyncapi.Document
		if err := json.Unmarshal(getDoc(t, n, "?actor="+actor), &doc); err != nil {
			t.Fatal(err)
		}
		if got := slices.Sorted(maps.Keys(doc.Operations)); !slices.Equal(got, want) {
			t.Errorf("%s: operations %v, want %v", actor, got, want)
		}
		for id, ch := range doc.Channels {
			if strings.Contains(ch.Address, "{actor}") || !strings.Contains(ch.Address, "."+actor) && !strings.HasPrefix(ch.Address, "deliver."+actor+".") {
				t.Errorf("%s: channel %s address %q is not the actor's own", actor, id, ch.Address)
			}
		}
		if actor == "yrkeshogskolan" {
			if _, ok := doc.Components.Messages["jobads"]; ok {
				t.Errorf("yrkeshogskolan, denied job ads, is shown the jobads message")
			}
			if _, ok := doc.Channels["jobads.ingest"]; ok {
				t.Errorf("yrkeshogskolan is shown a jobads channel")
			}
		}
	}
	req, _ := http.NewRequest(http.MethodGet, n.HTTPURL()+"/api/v1/asyncapi.json?actor=nobody", nil)
	req.Header.Set("Authorization", "Bearer "+n.Token())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("an unknown actor: %d, want 404", resp.StatusCode)
	}
}

func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return bytes.Equal(xa, ya)
}
