package fastschema

import (
	"flag"
	"fmt"
	"strings"
	"testing"
)

// exhaustive runs every mutation of every record (minutes); without it each
// value of the larger records gets two of the replacements in turn.
var exhaustive = flag.Bool("exhaustive", false, "run every mutation of every record in the differential tests")

// dcase is a schema with its options and the records to judge.
type dcase struct {
	name      string
	file      string
	doc       []byte
	resources map[string][]byte
	opts      Options
	tax       *taxonomySpec
	records   [][]byte
	repl      []string // replacements for mutations; nil: no mutations
	perValue  int      // replacements per value (0: all) unless -exhaustive
}

func (c dcase) compile(tb testing.TB) (*Validator, *oracle) {
	tb.Helper()
	doc := c.doc
	if doc == nil {
		doc = readFile(tb, c.file)
	}
	name := c.file
	if name == "" {
		name = c.name + ".schema.json"
	}
	fast, err := Compile(name, doc, c.resources, c.opts)
	if err != nil {
		tb.Fatalf("%s: %v", c.name, err)
	}
	return fast, newOracle(tb, name, doc, c.resources, c.opts, c.tax)
}

// agree fails the test for every record on which the fast path and the
// reference disagree.
func agree(t *testing.T, fast *Validator, o *oracle, recs [][]byte) int {
	t.Helper()
	bad := 0
	for _, rec := range recs {
		if d := disagreement(fast, o, rec); d != "" {
			bad++
			if bad <= 10 {
				t.Errorf("disagreement on %s:\n  %s", clip(rec), d)
			}
		}
	}
	if bad > 10 {
		t.Errorf("... %d disagreements in all", bad)
	}
	return len(recs)
}

func clip(b []byte) string {
	s := fmt.Sprintf("%q", b)
	if len(s) > 400 {
		return s[:250] + " … " + s[len(s)-120:]
	}
	return s
}

func shippedCases(t *testing.T) []dcase {
	_, jobInvalid := exampleRecords(t, "jobads")
	tombstone := readFile(t, repoRoot+"/schemas/jobads/examples/valid/tombstone-22884504.json")
	conValid, conInvalid := exampleRecords(t, "taxonomy-concepts")
	cs, _ := concepts(t, 300)
	employer := readFile(t, kitEmployer)
	// The job-ad schema's taxonomy keyword over the real concept snapshot:
	// ad 23174210 and many mutations name concepts it lacks.
	tax := jobAdTaxonomy(t)
	adOpts := jobAdOptions(tax.lookup)
	// The other shipped datasets, valid and invalid examples together; the
	// education offerings and gig assignments key by /id with a tombstone
	// and use the taxonomy keyword as the job ads do.
	examples := func(dataset string) [][]byte {
		v, inv := exampleRecords(t, dataset)
		return append(v, inv...)
	}
	return []dcase{
		{name: "jobads small ad", file: jobAdSchema, opts: adOpts, tax: tax,
			records: [][]byte{smallAd(t)}, repl: replacements},
		{name: "jobads real ads", file: jobAdSchema, opts: adOpts, tax: tax,
			records: realAds(t), repl: replacements, perValue: 2},
		{name: "jobads invalid examples", file: jobAdSchema, opts: adOpts, tax: tax,
			records: append(jobInvalid, tombstone), repl: replacements, perValue: 1},
		{name: "concepts", file: conceptSchema, opts: Options{Key: "/id"},
			records: append(append(conValid, conInvalid...), cs...)},
		{name: "concepts mutated", file: conceptSchema, opts: Options{Key: "/id"},
			records: append(conValid, conInvalid...), repl: replacements},
		{name: "job-postings examples", file: repoRoot + "/schemas/job-postings/jobposting.schema.json", opts: Options{Key: "/id"},
			records: examples("job-postings"), repl: replacements, perValue: 1},
		{name: "education-offerings examples", file: repoRoot + "/schemas/education-offerings/offering.schema.json", opts: adOpts, tax: tax,
			records: examples("education-offerings"), repl: replacements, perValue: 1},
		{name: "gig-assignments examples", file: repoRoot + "/schemas/gig-assignments/gig.schema.json", opts: adOpts, tax: tax,
			records: examples("gig-assignments"), repl: replacements, perValue: 1},
		{name: "kit test schema", file: kitTestSchema, opts: Options{Key: "/id", Tombstone: "/removed"},
			records: append(realAds(t)[1:2], smallAd(t)), repl: replacements, perValue: 1},
		{name: "ref to another document", doc: []byte(`{"properties":{"employer":{"$ref":"https://schemas.jobtech.se/test/employer.schema.json"}}}`),
			resources: map[string][]byte{kitEmployer: employer}, opts: Options{Key: "/employer/organization_number"},
			records: [][]byte{[]byte(`{"employer":{"name":"A","organization_number":"1234567890"}}`)}, repl: replacements},
	}
}

// TestDifferentialShipped holds the fast path to the reference on the
// shipped schemas, their examples, the real ads and concepts, and every
// mutation of them.
func TestDifferentialShipped(t *testing.T) {
	t.Parallel()
	for _, c := range shippedCases(t) {
		t.Run(strings.ReplaceAll(c.name, " ", "_"), func(t *testing.T) {
			t.Parallel()
			fast, o := c.compile(t)
			recs := c.records
			if c.repl != nil {
				per := c.perValue
				if *exhaustive {
					per = 0
				}
				for _, r := range c.records {
					recs = append(recs, mutations(r, c.repl, per)...)
				}
			}
			n := agree(t, fast, o, recs)
			t.Logf("%d records", n)
		})
	}
}
