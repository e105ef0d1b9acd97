package cli_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jobtech-dev/datahub/connector-kit/kittest"
)

// TestImportConceptMap imports concepts in the shape JobTech publishes
// its taxonomy in, a map from concept id to concept, with --map-key id: one
// record per member, keyed by its id; from a file and from a pipe. Without
// --map-key the map is one record, and the answer says how to read it.
func TestImportConceptMap(t *testing.T) {
	t.Parallel()
	h := kittest.Start(t, "")
	creds := h.Actor("arbetsformedlingen")
	var all map[string]json.RawMessage
	if err := json.Unmarshal(readTestdata(t, "taxonomy-concepts.json"), &all); err != nil {
		t.Fatal(err)
	}
	// The first 120 concepts of the real file, pretty-printed as it is.
	sub := map[string]json.RawMessage{}
	for id, c := range all {
		if len(sub) == 120 {
			break
		}
		sub[id] = c
	}
	doc, err := json.MarshalIndent(sub, "", "    ")
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "concepts.json")
	if err := os.WriteFile(file, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(stdin []byte, args ...string) (string, int) {
		cmd := exec.Command(kittest.Bin(t, "connector"), append([]string{"import", "-d", "taxonomy-concepts", "--hub", h.NATSURL(), "--credentials", creds}, args...)...)
		if stdin != nil {
			cmd.Stdin = bytes.NewReader(stdin)
		}
		out, err := cmd.Output()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return string(out), code
	}
	if out, code := run(nil, "--map-key", "id", file); code != 0 || !strings.Contains(out, "120 stored, 0 duplicates, 0 rejected") {
		t.Fatalf("--map-key id FILE: exit %d\n%s", code, out)
	}
	recs := h.Records("taxonomy-concepts")
	if len(recs) != 120 {
		t.Fatalf("hub holds %d concepts, want 120", len(recs))
	}
	for _, r := range recs {
		var c struct{ ID string }
		if err := json.Unmarshal(r.Data, &c); err != nil || c.ID != r.Key || sub[c.ID] == nil {
			t.Fatalf("record %s: id %q, key %q", r.ID, c.ID, r.Key)
		}
	}
	if out, code := run(doc, "--map-key", "id", "--id-from", "id", "-"); code != 0 || !strings.Contains(out, "120 records") {
		t.Fatalf("--map-key id from a pipe: exit %d\n%s", code, out)
	}
	// As one record it lacks id, label and type at the top level: refused.
	out, code := run(nil, file)
	if code != 1 || !strings.Contains(out, "concepts.json:1: rejected") {
		t.Fatalf("the map as one record: exit %d\n%s", code, out)
	}
}

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(kittest.JobTechData(), name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
