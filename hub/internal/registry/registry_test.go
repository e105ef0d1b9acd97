package registry

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jobtech-dev/datahub/connector-kit/schema"
)

const adSchema = `{
  "$id": "https://schemas.jobtech.se/test/jobad.schema.json",
  "type": "object",
  "required": ["id", "employer"],
  "properties": {
    "id": {"type": "string"},
    "removed": {"type": "boolean"},
    "employer": {"$ref": "employer.schema.json"},
    "occupation": {"$ref": "https://schemas.jobtech.se/test/concept.schema.json"}
  }
}`

const employerSchema = `{"type":"object","required":["name"],"properties":{"name":{"type":"string"}}}`

const conceptSchema = `{"$id":"https://schemas.jobtech.se/test/concept.schema.json","type":"object","required":["concept_id"]}`

const goodAds = `name: jobads
title: Job ads
owner: arbetsformedlingen
key: id
tombstone: removed
retention: 365d
dedupe_window: 2h
max_per_key: 3
schema_version: 2
schema: jobad.schema.json
`

const goodConcepts = `name: taxonomy-concepts
owner: arbetsformedlingen
key: /concept/id
schema_version: 1
schema: concept.schema.json
`

// writeTree writes files (path relative to a new temp dir → content) and returns the dir.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for p, content := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// goodTree is a valid schemas dir with two datasets, one referring to the other's schema by $id.
func goodTree() map[string]string {
	return map[string]string{
		"jobads/dataset.yaml":                  goodAds,
		"jobads/jobad.schema.json":             adSchema,
		"jobads/employer.schema.json":          employerSchema,
		"concepts/dataset.yaml":                goodConcepts,
		"concepts/concept.schema.json":         conceptSchema,
		"concepts/examples/valid/ignored.json": `not read`,
	}
}

func TestLoadDirGood(t *testing.T) {
	dir := writeTree(t, goodTree())
	ds, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 2 || ds[0].Name != "jobads" || ds[1].Name != "taxonomy-concepts" {
		t.Fatalf("got %v", ds)
	}
	ad := ds[0]
	if ad.Title != "Job ads" || ad.Owner != "arbetsformedlingen" || ad.Key != "id" || ad.Tombstone != "removed" ||
		ad.Retention != 365*24*time.Hour || ad.DedupeWindow != 2*time.Hour || ad.MaxPerKey != 3 || ad.SchemaVersion != 2 {
		t.Errorf("fields: %+v", ad)
	}
	if ds[1].DedupeWindow != time.Hour || ds[1].Retention != 0 || ds[1].KeyScope != "publisher" || !ds[1].ScopedByPublisher() {
		t.Errorf("defaults: %+v", ds[1])
	}
	if !json.Valid(ad.SchemaDoc) || filepath.Base(ad.SchemaFile) != "jobad.schema.json" {
		t.Errorf("schema doc/file: %s %s", ad.SchemaFile, ad.SchemaDoc)
	}
	// Both $refs (same-folder file and the other dataset's $id) resolve.
	_, vs := ad.Schema.Check([]byte(`{"id":"1","employer":{},"occupation":{}}`), schema.Limits{})
	want := []schema.Violation{
		{Pointer: "/employer/name", Keyword: "required", Message: `required property "name" is missing`},
		{Pointer: "/occupation/concept_id", Keyword: "required", Message: `required property "concept_id" is missing`},
	}
	if fmt.Sprint(vs) != fmt.Sprint(want) {
		t.Errorf("got %v, want %v", vs, want)
	}

	d, err := LoadFile(filepath.Join(dir, "concepts", "dataset.yaml"))
	if err != nil || d.Name != "taxonomy-concepts" {
		t.Fatalf("LoadFile: %v %v", d, err)
	}
}

func TestLoadDirErrors(t *testing.T) {
	tests := []struct {
		name  string
		edit  map[string]string // changes to goodTree; "" deletes
		wants []string          // substrings of the error
	}{
		{"unknown field", map[string]string{"jobads/dataset.yaml": goodAds + "colour: blue\n"},
			[]string{"jobads/dataset.yaml:11:1", `unknown field "colour"`}},
		{"bad name", map[string]string{"jobads/dataset.yaml": strings.Replace(goodAds, "name: jobads", "name: Job_Ads", 1)},
			[]string{"jobads/dataset.yaml:1:7: name: \"Job_Ads\" must match"}},
		{"bad owner", map[string]string{"jobads/dataset.yaml": strings.Replace(goodAds, "owner: arbetsformedlingen", "owner: 9x", 1)},
			[]string{"jobads/dataset.yaml:3:8: owner:"}},
		{"missing required fields", map[string]string{"jobads/dataset.yaml": "title: x\n"},
			[]string{"name: is required", "owner: is required", "key: is required", "schema: is required"}},
		{"duplicate names", map[string]string{"concepts/dataset.yaml": strings.Replace(goodConcepts, "taxonomy-concepts", "jobads", 1)},
			[]string{"dataset.yaml:1:7: name: dataset \"jobads\" is already declared in"}},
		{"missing schema file", map[string]string{"concepts/concept.schema.json": ""},
			[]string{"concepts/dataset.yaml:5:9: schema: cannot read schema file", "jobads/dataset.yaml:10:9: schema:", "concept.schema.json"}},
		{"schema does not compile", map[string]string{"jobads/employer.schema.json": `{"type":"thing"}`},
			[]string{"jobads/dataset.yaml:10:9: schema: compile schema", "invalid schema"}},
		{"schema not JSON", map[string]string{"concepts/concept.schema.json": `{"type":`},
			[]string{"concept.schema.json: compile schema", "byte offset 8"}},
		{"network ref", map[string]string{"jobads/employer.schema.json": `{"$ref":"http://example.com/x.json"}`},
			[]string{`"http://example.com/x.json"`, "no network"}},
		{"bad retention", map[string]string{"jobads/dataset.yaml": strings.Replace(goodAds, "365d", "a year", 1)},
			[]string{"jobads/dataset.yaml:6:12: retention: \"a year\" is not a Go duration"}},
		{"retention without unit", map[string]string{"jobads/dataset.yaml": strings.Replace(goodAds, "365d", "365", 1)},
			[]string{"retention: 365 has no unit"}},
		{"dedupe window too long", map[string]string{"jobads/dataset.yaml": strings.Replace(goodAds, "dedupe_window: 2h", "dedupe_window: 8d", 1)},
			[]string{"dedupe_window: 192h0m0s must be between 1s and 7d"}},
		{"negative max_per_key", map[string]string{"jobads/dataset.yaml": strings.Replace(goodAds, "max_per_key: 3", "max_per_key: -1", 1)},
			[]string{"max_per_key: -1 must be 0"}},
		{"wrong type", map[string]string{"jobads/dataset.yaml": strings.Replace(goodAds, "schema_version: 2", "schema_version: two", 1)},
			[]string{"jobads/dataset.yaml:9:17"}},
		{"duplicate key", map[string]string{"jobads/dataset.yaml": goodAds + "key: other\n"},
			[]string{"jobads/dataset.yaml:11:1", "duplicate"}},
		{"bad key pointer", map[string]string{"jobads/dataset.yaml": strings.Replace(goodAds, "key: id", "key: /a//b", 1)},
			[]string{"key: \"/a//b\" has an empty segment"}},
		{"unknown key scope", map[string]string{"jobads/dataset.yaml": goodAds + "key_scope: owner\n"},
			[]string{"jobads/dataset.yaml:11:12: key_scope: \"owner\" must be \"publisher\"", "or \"dataset\""}},
		{"unknown taxonomy reaction", map[string]string{"jobads/dataset.yaml": goodAds + "taxonomy_deprecated: ignore\n"},
			[]string{"jobads/dataset.yaml:11:22: taxonomy_deprecated: \"ignore\" must be \"reject\", \"warn\" or \"accept\""}},
		{"taxonomy reaction is case-sensitive", map[string]string{"jobads/dataset.yaml": goodAds + "taxonomy_deprecated: Reject\n"},
			[]string{"jobads/dataset.yaml:11:22: taxonomy_deprecated: \"Reject\" must be"}},
		{"key scope not a string", map[string]string{"jobads/dataset.yaml": goodAds + "key_scope: [dataset]\n"},
			[]string{"jobads/dataset.yaml:11:"}},
		{"absolute schema path", map[string]string{"jobads/dataset.yaml": strings.Replace(goodAds, "schema: jobad", "schema: /etc/jobad", 1)},
			[]string{"must be a path relative"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := goodTree()
			for p, c := range tt.edit {
				if c == "" {
					delete(files, p)
				} else {
					files[p] = c
				}
			}
			ds, err := LoadDir(writeTree(t, files))
			if err == nil || ds != nil {
				t.Fatalf("want an error and no datasets, got %v, %v", ds, err)
			}
			if !errors.Is(err, ErrInvalidDeclaration) {
				t.Errorf("error does not wrap ErrInvalidDeclaration: %v", err)
			}
			for _, w := range tt.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestKeyScopeDeclared(t *testing.T) {
	files := goodTree()
	files["jobads/dataset.yaml"] = goodAds + "key_scope: dataset\n"
	ds, err := LoadDir(writeTree(t, files))
	if err != nil {
		t.Fatal(err)
	}
	if ds[0].KeyScope != "dataset" || ds[0].ScopedByPublisher() {
		t.Fatalf("key scope %q", ds[0].KeyScope)
	}
	if s := ds[0].Subject("a.b", "hub", "jobbland"); s != "data.jobads.a~2Eb" {
		t.Errorf("owned key subject %s", s)
	}
	if s := ds[1].Subject("a.b", "hub", "jobbland"); s != "data.taxonomy-concepts.a~2Eb.hub.jobbland" {
		t.Errorf("per-publisher subject %s", s)
	}
	err = ds[0].KeyScopeError("cannot change")
	if !errors.Is(err, ErrInvalidDeclaration) || !strings.Contains(err.Error(), "jobads/dataset.yaml:11:12: key_scope: cannot change") {
		t.Errorf("KeyScopeError: %v", err)
	}
}

func TestLoadDirBadDir(t *testing.T) {
	ds, err := LoadDir(filepath.Join(t.TempDir(), "nope"))
	if err == nil || ds != nil {
		t.Fatalf("got %v, %v", ds, err)
	}
}

func TestKeyOf(t *testing.T) {
	tests := []struct {
		key, record string
		want        string
		wantMsg     string // "" = valid
		wantPtr     string
	}{
		{"id", `{"id":"22884504"}`, "22884504", "", ""},
		{"id", `{"id":9007199254740991}`, "9007199254740991", "", ""},
		{"id", `{"id":-7}`, "-7", "", ""},
		{"id", `{"x":1}`, "", `key field "id" is missing`, "/id"},
		{"id", `{"id":null}`, "", `key field "id" must be a non-empty string or an integer, not null`, "/id"},
		{"id", `{"id":""}`, "", "not an empty string", "/id"},
		{"id", `{"id":1.5}`, "", "not 1.5", "/id"},
		{"id", `{"id":1e3}`, "", "not 1e3", "/id"},
		{"id", `{"id":true}`, "", "not a boolean", "/id"},
		{"id", `{"id":{}}`, "", "not an object", "/id"},
		{"id", `{"id":[1]}`, "", "not an array", "/id"},
		{"/employer/id", `{"employer":{"id":"e1"}}`, "e1", "", ""},
		{"/employer/id", `{"employer":"e1"}`, "", `key field "/employer/id" is missing`, "/employer/id"},
		{"/a~1b/c~0d", `{"a/b":{"c~d":"x"}}`, "x", "", ""},
		{"/list/1", `{"list":["a","b"]}`, "b", "", ""},
		{"a/b", `{"a/b":"slash"}`, "slash", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.key+" "+tt.record, func(t *testing.T) {
			d := &Dataset{Key: tt.key}
			v, vs := schema.Decode([]byte(tt.record), schema.Limits{})
			if vs != nil {
				t.Fatal(vs)
			}
			got, viol := d.KeyOf(v)
			if tt.wantMsg == "" {
				if viol != nil || got != tt.want {
					t.Fatalf("got %q, %v; want %q", got, viol, tt.want)
				}
				return
			}
			if viol == nil || viol.Keyword != "key" || viol.Pointer != tt.wantPtr || !strings.Contains(viol.Message, tt.wantMsg) {
				t.Fatalf("got %q, %+v; want violation at %s containing %q", got, viol, tt.wantPtr, tt.wantMsg)
			}
		})
	}
}

func TestIsTombstone(t *testing.T) {
	tests := []struct {
		tombstone, record string
		want              bool
	}{
		{"removed", `{"id":"1","removed":true}`, true},
		{"removed", `{"id":"1","removed":false}`, false},
		{"removed", `{"id":"1"}`, false},
		{"removed", `{"id":"1","removed":"true"}`, false},
		{"removed", `{"id":"1","removed":1}`, false},
		{"/meta/deleted", `{"meta":{"deleted":true}}`, true},
		{"", `{"removed":true}`, false},
	}
	for _, tt := range tests {
		d := &Dataset{Key: "id", Tombstone: tt.tombstone}
		v, _ := schema.Decode([]byte(tt.record), schema.Limits{})
		if got := d.IsTombstone(v); got != tt.want {
			t.Errorf("IsTombstone(%s) with %q = %v", tt.record, tt.tombstone, got)
		}
	}
}

func TestRegistry(t *testing.T) {
	a, b, c := &Dataset{Name: "b"}, &Dataset{Name: "a"}, &Dataset{Name: "c"}
	r := New(a, b)
	if got := r.List(); len(got) != 2 || got[0] != b || got[1] != a {
		t.Fatalf("List = %v", got)
	}
	if d, ok := r.Get("a"); !ok || d != b {
		t.Fatal("Get a")
	}
	if _, err := r.Find("zz"); !errors.Is(err, ErrUnknownDataset) || !strings.Contains(err.Error(), `"zz"`) {
		t.Fatalf("Find: %v", err)
	}
	// Concurrent readers during swaps (run with -race).
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 1000 {
				if _, ok := r.Get("a"); !ok {
					t.Error("a vanished")
					return
				}
				_ = r.List()
			}
		})
	}
	for i := range 100 {
		if i%2 == 0 {
			r.Replace([]*Dataset{b, c})
		} else {
			r.Replace([]*Dataset{a, b})
		}
	}
	wg.Wait()
	r.Replace(nil)
	if len(r.List()) != 0 {
		t.Fatal("Replace(nil) kept datasets")
	}
}
