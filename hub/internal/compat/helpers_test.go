package compat

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
)

// want is an expected change: its type, the direction it breaks, and its
// pointers into the old and the new schema.
type want struct {
	typ      ChangeType
	breaks   Direction
	old, new string
}

func (w want) String() string {
	return fmt.Sprintf("%s %s old=%q new=%q", w.typ, w.breaks, w.old, w.new)
}

// pairCase is one row of the compatibility table: two schema versions (with
// resources), the verdict in each direction, every breaking change, and
// some non-breaking changes that must be listed too.
type pairCase struct {
	name                string
	old, new            string
	oldRes, newRes      map[string]string
	policy              Policy
	backward, forward   bool // compatible in that direction
	breaking            []want
	also                []want // non-breaking changes that must be among Diff's
	skipPropertyCheck   bool   // the generator cannot make records for it
	oldName, newName    string
	oldVersion, version int
}

func (pc pairCase) docs() (Document, Document) {
	res := func(m map[string]string) map[string][]byte {
		if m == nil {
			return nil
		}
		out := map[string][]byte{}
		for k, v := range m {
			out[k] = []byte(v)
		}
		return out
	}
	return Document{Name: pc.oldName, Schema: []byte(pc.old), Resources: res(pc.oldRes), Version: 1},
		Document{Name: pc.newName, Schema: []byte(pc.new), Resources: res(pc.newRes), Version: 2}
}

func (pc pairCase) opts() []Option {
	if pc.policy == "" {
		return nil
	}
	return []Option{WithPolicy(pc.policy)}
}

// runPairCase checks a row: Diff's breaking changes are exactly the
// expected ones, the expected non-breaking ones are listed, and Check
// gives the expected verdict in each of NONE, BACKWARD, FORWARD and FULL.
func runPairCase(t *testing.T, pc pairCase) {
	t.Helper()
	old, cand := pc.docs()
	cs, err := Diff(old, cand, pc.opts()...)
	if err != nil {
		t.Fatalf("Diff: %v", err)
	}
	var got []want
	for _, c := range cs {
		if c.Breaks != DirNone {
			got = append(got, want{c.Type, c.Breaks, c.OldPointer, c.NewPointer})
		}
		if c.Message == "" || c.Version != 1 {
			t.Errorf("change without message or version: %v", c)
		}
	}
	if !sameWants(got, pc.breaking) {
		t.Errorf("breaking changes:\n got  %v\n want %v\nall changes:\n%s", got, pc.breaking, listChanges(cs))
	}
	for _, w := range pc.also {
		found := false
		for _, c := range cs {
			found = found || (want{c.Type, c.Breaks, c.OldPointer, c.NewPointer} == w)
		}
		if !found {
			t.Errorf("missing change %v among:\n%s", w, listChanges(cs))
		}
	}
	verdicts := map[Mode]bool{None: true, Backward: pc.backward, Forward: pc.forward, Full: pc.backward && pc.forward}
	for _, mode := range []Mode{None, Backward, Forward, Full} {
		r, err := Check(mode, []Document{old}, cand, pc.opts()...)
		if err != nil {
			t.Fatalf("Check %s: %v", mode, err)
		}
		if r.Compatible != verdicts[mode] {
			t.Errorf("Check %s: compatible=%v, want %v; breaking:\n%s", mode, r.Compatible, verdicts[mode], listChanges(r.Breaking))
		}
		if r.Compatible != (len(r.Breaking) == 0) {
			t.Errorf("Check %s: compatible=%v with %d breaking changes", mode, r.Compatible, len(r.Breaking))
		}
		for _, c := range r.Breaking {
			if c.Breaks&mode.Directions() == 0 {
				t.Errorf("Check %s lists %v, which does not break this mode", mode, c)
			}
		}
	}
}

func sameWants(a, b []want) bool {
	sort := func(x []want) []want {
		x = slices.Clone(x)
		slices.SortFunc(x, func(p, q want) int { return strings.Compare(p.String(), q.String()) })
		return x
	}
	return slices.Equal(sort(a), sort(b))
}

func listChanges(cs []Change) string {
	var b strings.Builder
	for _, c := range cs {
		fmt.Fprintf(&b, "    %v\n", c)
	}
	return b.String()
}

// repoFile reads a file of the repository.
func repoFile(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile("../../../" + rel)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// jobAd returns the shipped job-ad schema as a map to evolve.
func jobAd(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(repoFile(t, "schemas/jobads/jobad.schema.json"), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// at walks a decoded schema by keys, creating objects on the way.
func at(m map[string]any, keys ...string) map[string]any {
	for _, k := range keys {
		next, ok := m[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[k] = next
		}
		m = next
	}
	return m
}

// mustJSON encodes a value.
func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
