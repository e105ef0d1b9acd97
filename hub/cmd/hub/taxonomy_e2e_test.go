package main_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jobtech-dev/datahub/hub/internal/hubtest"
)

// TestPublishTaxonomyThenRealAds loads JobTech's concept file as it is
// published (a map from concept id to concept, 1.7 MB) into a running hub
// with hub publish --map-key, then publishes the three real ads: two are
// stored, and ad 23174210 is refused with each reference the taxonomy lacks
// named with its pointer. Without --map-key the file is one record, refused
// as too large, with a hint.
func TestPublishTaxonomyThenRealAds(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	h := serve(t, data)
	common := []string{"--hub-url", h.httpURL, "--data", data}
	concepts := filepath.Join(hubtest.JobTechData(), "taxonomy-concepts.json")

	out, errOut, code := run(t, nil, append([]string{"publish", "--dataset", "taxonomy-concepts", concepts}, common...)...)
	if code != 1 || !strings.Contains(out, "taxonomy-concepts.json:1: too_large") || !strings.Contains(out, "hint: this document is a map of records") {
		t.Fatalf("the concept file as one record: exit %d\n%s%s", code, out, errOut)
	}
	out, errOut, code = run(t, nil, append([]string{"publish", "--dataset", "taxonomy-concepts", "--map-key", "id", "--quiet", concepts}, common...)...)
	if code != 0 || strings.TrimSpace(out) != "12496 stored, 0 duplicates, 0 not stored" {
		t.Fatalf("the concept file with --map-key id: exit %d\n%s%s", code, out, errOut)
	}
	out, _, code = run(t, nil, append([]string{"read", "--dataset", "taxonomy-concepts", "--snapshot"}, common...)...)
	if recs := envelopes(t, out); code != 0 || len(recs) != 12496 || recs[0].Key == "" {
		t.Fatalf("read back %d concepts (exit %d)", len(recs), code)
	}

	out, errOut, code = run(t, nil, append([]string{"publish", "--dataset", "jobads", filepath.Join(hubtest.JobTechData(), "job-ads.ndjson")}, common...)...)
	if code != 1 || !strings.Contains(out, "2 stored, 0 duplicates, 1 not stored") || !strings.Contains(out, "job-ads.ndjson:2: rejected: 6 violation(s)") {
		t.Fatalf("the real ads: exit %d\n%s%s", code, out, errOut)
	}
	for _, want := range []string{
		`/must_have/skills/0/concept_id: "29387234_yov_smw" is not the id of a skill concept in the taxonomy (x-taxonomy)`,
		`/must_have/languages/0/concept_id: "2sdfds34_yov_smw" is not the id of a language concept in the taxonomy (x-taxonomy)`,
		`/nice_to_have/skills/0/concept_id: "2938adsfdov_smw" is not the id of a skill concept in the taxonomy (x-taxonomy)`,
		`/nice_to_have/languages/0/concept_id: "2sdfdsasdfov_smw" is not the id of a language concept in the taxonomy (x-taxonomy)`,
		`/nice_to_have/work_experiences/0/concept_id: "fg7B_yoasdfw" is not the id of an occupation-name concept in the taxonomy (x-taxonomy)`,
		`/workplace_address/country_code: "01" is not the legacy id of a country concept in the taxonomy (x-taxonomy)`,
	} {
		if !strings.Contains(out, "    "+want+"\n") {
			t.Errorf("publish output lacks %q:\n%s", want, out)
		}
	}
	h.stop(t)
}

// TestValidateWithTaxonomy: hub validate checks taxonomy references with
// --taxonomy, and says plainly that it did not without it.
func TestValidateWithTaxonomy(t *testing.T) {
	t.Parallel()
	ads := filepath.Join(hubtest.JobTechData(), "job-ads.ndjson")
	args := []string{"validate", "--dataset", "jobads", "--schemas", hubtest.SchemasDir()}
	out, _, code := run(t, nil, append(args, ads)...)
	if code != 0 || !strings.Contains(out, "3 valid, 0 invalid\nnote: not checked: x-taxonomy") {
		t.Fatalf("without --taxonomy: exit %d\n%s", code, out)
	}
	out, _, code = run(t, nil, append(args, "--taxonomy", filepath.Join(hubtest.JobTechData(), "taxonomy-concepts.json"), ads)...)
	if code != 1 || !strings.Contains(out, "job-ads.ndjson:2: invalid: 6 violation(s)") || !strings.Contains(out, "2 valid, 1 invalid\n") ||
		strings.Contains(out, "note:") {
		t.Fatalf("with --taxonomy: exit %d\n%s", code, out)
	}
	// A deprecated concept: the dataset warns (its default).
	tax := filepath.Join(t.TempDir(), "concepts.ndjson")
	writeFile(t, tax, `{"id":"7wdX_4rv_33z","label":"Backend-utvecklare","type":"occupation-name","deprecated":true,"replaced_by":[{"id":"rQds_YGd_quU"}]}`+"\n")
	ad := filepath.Join(t.TempDir(), "ad.json")
	writeFile(t, ad, `{"id":"1","headline":"Utvecklare","description":{"text":"x"},"employer":{"name":"A"},"occupation":{"concept_id":"7wdX_4rv_33z","label":"Backend-utvecklare"},"publication_date":"2026-11-30T10:00:00"}`)
	out, _, code = run(t, nil, append(args, "--taxonomy", tax, ad)...)
	if code != 0 || !strings.Contains(out, "ad.json:1: valid, 1 warning(s)\n    warning: /occupation/concept_id: \"7wdX_4rv_33z\" names a deprecated occupation-name concept: replaced by rQds_YGd_quU (x-taxonomy)") {
		t.Fatalf("deprecated concept: exit %d\n%s", code, out)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
