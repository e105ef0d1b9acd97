package compat

import (
	"bytes"
	"strings"
	"testing"
)

// readmeCandidate is the job-ad schema as the README's example changes it:
// headline capped at 100 characters, application_deadline required in ads.
func readmeCandidate(t testing.TB) Document {
	m := jobAd(t)
	at(m, "properties", "headline")["maxLength"] = 100
	e := at(m, "else")
	e["required"] = append(e["required"].([]any), "application_deadline")
	return Document{Name: "jobad-v2.schema.json", Schema: []byte(mustJSON(t, m)), Version: 2}
}

// TestREADMEExample checks that the refusal the README shows for
// `hub schema check` is what the checker prints.
func TestREADMEExample(t *testing.T) {
	t.Parallel()
	v1 := Document{Name: "jobad.schema.json", Schema: repoFile(t, "schemas/jobads/jobad.schema.json"), Version: 1}
	r, err := Check(Backward, []Document{v1}, readmeCandidate(t))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := r.WriteText(&out); err != nil {
		t.Fatal(err)
	}
	readme := string(repoFile(t, "README.md"))
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if !strings.Contains(readme, "# "+line) && !strings.Contains(readme, "# "+strings.TrimSpace(line)) {
			t.Errorf("README.md lacks the line %q of:\n%s", line, out.String())
		}
	}
}
