package registry

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/goccy/go-yaml"

	"github.com/jobtech-dev/datahub/connector-kit/schema"
	"github.com/jobtech-dev/datahub/internal/taxonomy"
)

// schemasDir is the repository's real dataset declarations.
const schemasDir = "../../../schemas"

// conceptsFile is the real JobTech taxonomy snapshot.
const conceptsFile = "../../../testdata/jobtech/taxonomy-concepts.json"

// realTaxonomy is the index of the real snapshot, loaded once.
var realTaxonomy = sync.OnceValues(func() (*taxonomy.Index, error) { return taxonomy.LoadFile(conceptsFile) })

// TestRealSchemas loads the real declarations, with the taxonomy of the real
// concept snapshot, and checks their examples: every record in
// examples/valid passes Check and KeyOf; every file in examples/invalid
// fails with the violations examples/invalid/expect.yaml names (one, or a
// list).
//
// A "required" expectation at pointer P also matches a required violation at
// a property of P: this package names the missing property itself
// ("/employer" rather than "").
func TestRealSchemas(t *testing.T) {
	if _, err := os.Stat(schemasDir); os.IsNotExist(err) {
		t.Skip("no schemas folder")
	}
	idx, err := realTaxonomy()
	if err != nil {
		t.Fatal(err)
	}
	ds, err := LoadDir(schemasDir, schema.WithTaxonomy(idx))
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) == 0 {
		t.Fatal("no datasets under " + schemasDir)
	}
	for _, d := range ds {
		t.Run(d.Name, func(t *testing.T) {
			ex := filepath.Join(filepath.Dir(d.File), "examples")
			valid, _ := filepath.Glob(filepath.Join(ex, "valid", "*"))
			for _, f := range valid {
				for i, rec := range records(t, f) {
					v, vs := d.Schema.Check(rec, schema.Limits{})
					if vs != nil {
						t.Errorf("%s record %d: %v", f, i+1, vs)
						continue
					}
					if _, kv := d.KeyOf(v); kv != nil {
						t.Errorf("%s record %d: %v", f, i+1, kv)
					}
				}
			}
			expectFile := filepath.Join(ex, "invalid", "expect.yaml")
			raw, err := os.ReadFile(expectFile)
			if os.IsNotExist(err) {
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			expect, err := readExpect(raw)
			if err != nil {
				t.Fatalf("%s: %v", expectFile, err)
			}
			invalid, _ := filepath.Glob(filepath.Join(ex, "invalid", "*.json"))
			for _, f := range invalid {
				wants, ok := expect[filepath.Base(f)]
				if !ok {
					t.Errorf("%s: not listed in %s", f, expectFile)
					continue
				}
				data, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				v, vs := d.Schema.Check(data, schema.Limits{})
				if vs == nil {
					if _, kv := d.KeyOf(v); kv != nil {
						vs = append(vs, *kv)
					}
				}
				for _, want := range wants {
					found := false
					for _, got := range vs {
						if got.Keyword == want.Keyword && (got.Pointer == want.Pointer ||
							got.Keyword == "required" && isChild(got.Pointer, want.Pointer)) {
							found = true
						}
					}
					if !found {
						t.Errorf("%s: want a %q violation at %q, got %v", f, want.Keyword, want.Pointer, vs)
					}
				}
			}
			for name := range expect {
				if _, err := os.Stat(filepath.Join(ex, "invalid", name)); err != nil {
					t.Errorf("%s lists %s: %v", expectFile, name, err)
				}
			}
		})
	}
}

// expectation is one violation an invalid example must get.
type expectation struct {
	Pointer string `yaml:"pointer"`
	Keyword string `yaml:"keyword"`
}

// readExpect reads an expect.yaml: file name → one expectation, or a list
// of them (each must be among the file's violations).
func readExpect(raw []byte) (map[string][]expectation, error) {
	var loose map[string]any
	if err := yaml.Unmarshal(raw, &loose); err != nil {
		return nil, err
	}
	out := make(map[string][]expectation, len(loose))
	for name, v := range loose {
		b, err := yaml.Marshal(v)
		if err != nil {
			return nil, err
		}
		var one expectation
		if _, isList := v.([]any); !isList {
			if err := yaml.UnmarshalWithOptions(b, &one, yaml.DisallowUnknownField()); err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			out[name] = []expectation{one}
			continue
		}
		var list []expectation
		if err := yaml.UnmarshalWithOptions(b, &list, yaml.DisallowUnknownField()); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		out[name] = list
	}
	return out, nil
}

// isChild reports whether pointer p is a direct child of parent.
func isChild(p, parent string) bool {
	rest, ok := strings.CutPrefix(p, parent+"/")
	return ok && rest != "" && !strings.Contains(rest, "/")
}

// records reads a .json file (one record) or a .ndjson file (one per line).
func records(t *testing.T, f string) [][]byte {
	t.Helper()
	data, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	switch filepath.Ext(f) {
	case ".json":
		return [][]byte{data}
	case ".ndjson":
		var out [][]byte
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(nil, 4<<20)
		for sc.Scan() {
			if line := bytes.TrimSpace(sc.Bytes()); len(line) > 0 {
				out = append(out, bytes.Clone(line))
			}
		}
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	return nil
}

// TestRealAdsAgainstRealTaxonomy: the three real ads against the shipped
// job-ad schema with the taxonomy of the real concept snapshot. Two pass;
// ad 23174210 names five concepts the snapshot lacks (two skills, two
// languages, a work experience) and a country code, "01", that is no
// country's legacy id: each violation names the value, its pointer and the
// type it should be.
func TestRealAdsAgainstRealTaxonomy(t *testing.T) {
	idx, err := realTaxonomy()
	if err != nil {
		t.Fatal(err)
	}
	d, err := LoadFile(filepath.Join(schemasDir, "jobads", DeclarationFile), schema.WithTaxonomy(idx))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]schema.Violation{
		"22884504": nil,
		"23187561": nil,
		"23174210": {
			{Pointer: "/must_have/languages/0/concept_id", Keyword: "x-taxonomy", Message: `"2sdfds34_yov_smw" is not the id of a language concept in the taxonomy`},
			{Pointer: "/must_have/skills/0/concept_id", Keyword: "x-taxonomy", Message: `"29387234_yov_smw" is not the id of a skill concept in the taxonomy`},
			{Pointer: "/nice_to_have/languages/0/concept_id", Keyword: "x-taxonomy", Message: `"2sdfdsasdfov_smw" is not the id of a language concept in the taxonomy`},
			{Pointer: "/nice_to_have/skills/0/concept_id", Keyword: "x-taxonomy", Message: `"2938adsfdov_smw" is not the id of a skill concept in the taxonomy`},
			{Pointer: "/nice_to_have/work_experiences/0/concept_id", Keyword: "x-taxonomy", Message: `"fg7B_yoasdfw" is not the id of an occupation-name concept in the taxonomy`},
			{Pointer: "/workplace_address/country_code", Keyword: "x-taxonomy", Message: `"01" is not the legacy id of a country concept in the taxonomy`},
		},
	}
	ads := records(t, "../../../testdata/jobtech/job-ads.ndjson")
	if len(ads) != 3 {
		t.Fatalf("%d real ads", len(ads))
	}
	for _, ad := range ads {
		v, vs := d.Schema.Check(ad, schema.Limits{})
		var id string
		if v != nil {
			id, _ = d.KeyOf(v)
		} else {
			var head struct{ ID string }
			_ = json.Unmarshal(ad, &head)
			id = head.ID
		}
		w, ok := want[id]
		if !ok {
			t.Fatalf("unexpected ad %q", id)
		}
		if !reflect.DeepEqual(vs, w) {
			t.Errorf("ad %s:\n got %v\nwant %v", id, vs, w)
		}
		if vs == nil {
			if ws := d.Schema.Warnings(v); ws != nil {
				t.Errorf("ad %s warned: %v", id, ws)
			}
		}
	}
}
