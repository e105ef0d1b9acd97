package policy

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// FuzzLoad feeds the loader one policy file and one groups file. Whatever
// the input, loading must not panic; a refused input must get an error
// matching ErrInvalidPolicy that names the file it is about; an accepted
// one must give a Set that loads again from its own files to the same
// digest and that can decide every action for the actors it names.
func FuzzLoad(f *testing.F) {
	dir := filepath.Join("..", "..", "..", "policies")
	groups, err := os.ReadFile(filepath.Join(dir, GroupsFile))
	if err != nil {
		f.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".json") {
			data, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data, groups)
		}
	}
	f.Add([]byte(pol("a", `conditions={"time":{"type":"TimeWindowCondition","options":{"from":"2026-01-01T00:00:00Z","until":"2030-01-01T00:00:00Z"}}}`)), []byte(nil))
	f.Add([]byte(pol("b", `conditions={"remote_ip":{"type":"CIDRCondition","options":{"cidr":"10.0.0.0/8"}}}`, `subjects=["group:g"]`)), []byte("groups:\n  g: [x]\n"))
	f.Add([]byte(pol("c", `resources=["dataset:<jobads|taxonomy-.*>"]`, `actions=["<publish|subscribe>"]`)), []byte(nil))
	f.Add([]byte(`[{"id":"d"},{"id":"d"}]`), []byte("groups: [1"))
	f.Add([]byte(`{"id":"e","subjects":["actor:<(>"],"resources":["dataset:x"],"actions":["read"],"effect":"maybe"}`), []byte(nil))
	f.Add([]byte("\xff{"), []byte("\t"))
	f.Fuzz(func(t *testing.T, file, groups []byte) {
		files := map[string][]byte{"fuzz.json": file}
		if groups != nil {
			files[GroupsFile] = groups
		}
		set, err := LoadFiles(files)
		if err != nil {
			if set != nil {
				t.Fatalf("error %v with a set", err)
			}
			if !errors.Is(err, ErrInvalidPolicy) {
				t.Fatalf("error does not match ErrInvalidPolicy: %v", err)
			}
			if msg := err.Error(); !strings.Contains(msg, "fuzz.json") && !strings.Contains(msg, GroupsFile) {
				t.Fatalf("error names no file: %v", err)
			}
			return
		}
		again, err := LoadFiles(set.Files())
		if err != nil {
			t.Fatalf("a set's own files do not load again: %v", err)
		}
		if again.Digest() != set.Digest() || again.Len() != set.Len() {
			t.Fatalf("reloaded set differs: %d policies %s, was %d %s", again.Len(), again.Digest(), set.Len(), set.Digest())
		}
		now := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
		for _, id := range set.PolicyIDs() {
			p, ok := set.Policy(id)
			if !ok || set.File(id) == "" {
				t.Fatalf("policy %q listed but not found (file %q)", id, set.File(id))
			}
			for _, s := range p.GetSubjects() {
				_, actor, _ := strings.Cut(s, ":")
				for _, a := range Actions() {
					set.Decide(Request{Actor: actor, Action: a, Dataset: "jobads", Time: now, RemoteIP: "10.1.2.3"})
				}
				set.Rights(actor, []string{"jobads", "taxonomy-concepts"}, now, "")
				set.Explain(actor, []string{"jobads"}, now)
			}
		}
		set.Expiries(now)
		set.NextChange(now)
	})
}
