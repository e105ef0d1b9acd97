package fastschema

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// Fuzz targets: each feeds the fast path and the reference the same input
// and fails on any disagreement. `go test` replays their seeds and the
// corpus in testdata/fuzz (every input fuzzing ever found to disagree stays
// there as a regression case); `make fuzz` fuzzes each for a while.

// fuzzPair is a schema compiled both ways, once per process.
type fuzzPair struct {
	once sync.Once
	fast *Validator
	ref  *oracle
}

func (p *fuzzPair) get(tb testing.TB, c dcase) (*Validator, *oracle) {
	p.once.Do(func() { p.fast, p.ref = c.compile(tb) })
	if p.fast == nil {
		tb.Fatal("schema did not compile")
	}
	return p.fast, p.ref
}

var jobAdPair, conceptPair, objectPair fuzzPair

// jobAdSeeds are the shipped ads: the 1 KiB ad, the real ads and the
// examples (added in code, so they follow the files); the edits of
// textMutations are in testdata/fuzz.
func jobAdSeeds(tb testing.TB) [][]byte {
	valid, invalid := exampleRecords(tb, "jobads")
	return append(append(append([][]byte{smallAd(tb)}, realAds(tb)...), valid...), invalid...)
}

func conceptSeeds(tb testing.TB) [][]byte {
	valid, invalid := exampleRecords(tb, "taxonomy-concepts")
	cs, _ := concepts(tb, 5)
	return append(append(valid, invalid...), cs...)
}

// decodeSeeds are records at the edges of the decode checks.
var decodeSeeds = []string{`{"id":1,"a":[{"b":1,"b":2}]}`, `{"id":"\ud800"}`, `{"x":{"id":-0,"removed":true}}`,
	`{"id":12.0}`, `{"\u0069d":"k","removed":true}`, `{"id":"a","id":"b"}`, `{"n":1e400}`, `{"n":1e-400}`,
	`{"n":9007199254740992}`, `{"s":"\ud83d\ude00\ud800\udc00"}`, `[{"id":1}]`, ` {"id":"x"} `, `{"id":"x"}x`,
	`{"a":{"\ud800":1}}`, `{"id":` + "\"" + strings.Repeat("x", 300) + "\"" + `}`}

// FuzzJobAd fuzzes records against the shipped job-ad schema (key id,
// tombstone removed).
func FuzzJobAd(f *testing.F) {
	for _, s := range jobAdSeeds(f) {
		f.Add(s)
	}
	tax := jobAdTaxonomy(f)
	c := dcase{name: "jobads", file: jobAdSchema, opts: jobAdOptions(tax.lookup), tax: tax}
	f.Fuzz(func(t *testing.T, data []byte) {
		fast, o := jobAdPair.get(t, c)
		if d := disagreement(fast, o, data); d != "" {
			t.Fatalf("disagreement on %s:\n  %s", clip(data), d)
		}
	})
}

// FuzzConcept fuzzes records against the shipped taxonomy-concept schema
// (patterns, additionalProperties false).
func FuzzConcept(f *testing.F) {
	for _, s := range conceptSeeds(f) {
		f.Add(s)
	}
	c := dcase{name: "concepts", file: conceptSchema, opts: Options{Key: "/id"}}
	f.Fuzz(func(t *testing.T, data []byte) {
		fast, o := conceptPair.get(t, c)
		if d := disagreement(fast, o, data); d != "" {
			t.Fatalf("disagreement on %s:\n  %s", clip(data), d)
		}
	})
}

// FuzzDecode fuzzes the decode checks, their keywords and pointers, and the
// key and tombstone, under a schema that accepts any object.
func FuzzDecode(f *testing.F) {
	for _, s := range jobAdSeeds(f)[:4] {
		f.Add(s)
	}
	c := dcase{name: "object", doc: []byte(`{"type":"object"}`), opts: Options{Key: "/id", Tombstone: "/removed"}}
	f.Fuzz(func(t *testing.T, data []byte) {
		fast, o := objectPair.get(t, c)
		if d := disagreement(fast, o, data); d != "" {
			t.Fatalf("disagreement on %s:\n  %s", clip(data), d)
		}
	})
}

// generatedCache keeps compiled generated schemas while fuzzing.
var generatedCache sync.Map // seed → *genPair

type genPair struct {
	fast *Validator
	ref  *oracle
	doc  map[string]any
	skip bool
}

func generated(t *testing.T, seed uint64) *genPair {
	if p, ok := generatedCache.Load(seed); ok {
		return p.(*genPair)
	}
	g := newSchemaGen(seed)
	doc := g.document()
	raw := marshal(doc)
	name := fmt.Sprintf("generated-%d.schema.json", seed)
	opts := Options{Key: "/id", Tombstone: "/removed"}
	p := &genPair{doc: doc}
	fast, ferr := Compile(name, raw, nil, opts)
	ref, rerr := tryOracle(name, raw, nil, opts, nil)
	switch {
	case rerr != nil && ferr == nil:
		t.Fatalf("seed %d: the reference refuses the schema (%v), the fast path compiles it\n%s", seed, rerr, raw)
	case rerr != nil || ferr != nil && isUnsupported(ferr):
		p.skip = true
	case ferr != nil:
		t.Fatalf("seed %d: the fast path refuses a schema the reference compiles: %v\n%s", seed, ferr, raw)
	}
	p.fast, p.ref = fast, ref
	generatedCache.Store(seed, p)
	return p
}

// FuzzGenerated fuzzes generated schemas (by seed) with fuzzed records and
// records generated for the schema.
func FuzzGenerated(f *testing.F) {
	for seed := uint64(0); seed < 40; seed++ {
		f.Add(seed%20, []byte(`{"a":1,"id":"x","b":[1,"a",null],"c":{"a":"é"}}`))
	}
	f.Fuzz(func(t *testing.T, seed uint64, data []byte) {
		seed %= 5000 // a bounded set of schemas, each compiled once
		p := generated(t, seed)
		if p.skip {
			return
		}
		g := newSchemaGen(seed ^ uint64(len(data)))
		for _, rec := range [][]byte{data, g.record(p.doc)} {
			if d := disagreement(p.fast, p.ref, rec); d != "" {
				t.Fatalf("seed %d: disagreement on %s:\n  %s\nschema: %s", seed, clip(rec), d, marshal(p.doc))
			}
		}
	})
}

// writeSeeds rewrites the seed corpus files in testdata/fuzz.
var writeSeeds = flag.Bool("write-seeds", false, "rewrite the seed corpus in testdata/fuzz")

// TestSeedCorpus writes the seed corpus with -write-seeds; otherwise it
// checks that every target has one.
func TestSeedCorpus(t *testing.T) {
	cs, _ := concepts(t, 1)
	var dec [][]byte
	for _, s := range decodeSeeds {
		dec = append(dec, []byte(s))
	}
	targets := map[string][][]byte{
		"FuzzJobAd":   textMutations(smallAd(t)),
		"FuzzConcept": textMutations(cs[0]),
		"FuzzDecode":  dec,
	}
	for name, seeds := range targets {
		dir := filepath.Join("testdata", "fuzz", name)
		if *writeSeeds {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			for i, s := range seeds {
				body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", s)
				if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed-%02d", i)), []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			continue
		}
		files, _ := filepath.Glob(filepath.Join(dir, "*"))
		if len(files) == 0 {
			t.Errorf("%s has no seed corpus in %s (go test -run TestSeedCorpus -write-seeds)", name, dir)
		}
	}
	if *writeSeeds {
		dir := filepath.Join("testdata", "fuzz", "FuzzGenerated")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 20; i++ {
			g := newSchemaGen(uint64(i))
			rec := g.record(g.document())
			body := fmt.Sprintf("go test fuzz v1\nuint64(%d)\n[]byte(%q)\n", i, rec)
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed-%02d", i)), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}
