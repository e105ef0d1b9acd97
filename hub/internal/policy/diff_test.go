package policy

import (
	"slices"
	"testing"
	"time"
)

func TestDiffSets(t *testing.T) {
	load := func(files map[string]string) *Set {
		t.Helper()
		bs := map[string][]byte{}
		for k, v := range files {
			bs[k] = []byte(v)
		}
		s, err := LoadFiles(bs)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	from := load(map[string]string{
		"a.json":      "[" + pol("kept") + "," + pol("edited") + "," + pol("dropped") + "]",
		"groups.yaml": "groups:\n  boards: [jobbland]\n  schools: [yh]\n",
	})
	// Reformatted, reordered across files, one edited, one new, a group changed.
	to := load(map[string]string{
		"b.json":      "[" + pol("new") + ",\n  " + pol("kept") + "]",
		"c.json":      pol("edited", `actions=["publish","subscribe"]`),
		"groups.yaml": "groups:\n  boards: [jobbland, jobfinder]\n  schools: [yh]\n",
	})
	d := DiffSets(from, to)
	if !slices.Equal(d.Added, []string{"new"}) || !slices.Equal(d.Removed, []string{"dropped"}) ||
		!slices.Equal(d.Changed, []string{"edited"}) || !slices.Equal(d.Groups, []string{"boards"}) || d.Empty() {
		t.Fatalf("diff %+v", d)
	}
	if d := DiffSets(from, from); !d.Empty() {
		t.Fatalf("a set differs from itself: %+v", d)
	}
	if d := DiffSets(nil, to); !slices.Equal(d.Added, []string{"new", "kept", "edited"}) || len(d.Groups) != 2 {
		t.Fatalf("from nothing: %+v", d)
	}
	if d := DiffSets(from, load(nil)); !slices.Equal(d.Removed, []string{"kept", "edited", "dropped"}) || len(d.Groups) != 2 {
		t.Fatalf("to nothing: %+v", d)
	}
}

func TestSetNextChange(t *testing.T) {
	s, err := LoadFiles(map[string][]byte{"w.json": []byte(pol("window",
		`conditions={"time": {"type": "TimeWindowCondition", "options": {"from": "2026-01-01T00:00:00Z", "until": "2026-07-01T00:00:00Z"}}}`))})
	if err != nil {
		t.Fatal(err)
	}
	at := func(v string) time.Time { t.Helper(); x, _ := time.Parse(time.RFC3339, v); return x }
	for _, tc := range []struct{ after, want string }{
		{"2025-06-01T00:00:00Z", "2026-01-01T00:00:00Z"},
		{"2026-01-01T00:00:00Z", "2026-07-01T00:00:00Z"},
		{"2026-07-01T00:00:00Z", ""},
	} {
		got := s.NextChange(at(tc.after))
		if (tc.want == "" && !got.IsZero()) || (tc.want != "" && !got.Equal(at(tc.want))) {
			t.Errorf("NextChange(%s) = %v, want %s", tc.after, got, tc.want)
		}
	}
}
