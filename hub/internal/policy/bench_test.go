package policy

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// benchSet loads the real policies plus generated ones up to n policies:
// per-actor grants on generated datasets, patterned subjects and resources,
// some denies and some time-boxed grants.
func benchSet(b *testing.B, n int) *Set {
	b.Helper()
	dir := b.TempDir()
	entries, err := os.ReadDir(realPoliciesDir)
	if err != nil {
		b.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(realPoliciesDir, e.Name()))
		if err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), data, 0o600); err != nil {
			b.Fatal(err)
		}
	}
	base, err := LoadDir(dir)
	if err != nil {
		b.Fatal(err)
	}
	var docs []string
	actionsList := Actions()
	for i := range n - base.Len() {
		subject := fmt.Sprintf(`"actor:actor-%d"`, i%50)
		if i%7 == 0 {
			subject = fmt.Sprintf(`"actor:<actor-%d.*>"`, i%10)
		}
		resource := fmt.Sprintf(`"dataset:ds-%d"`, i%40)
		if i%5 == 0 {
			resource = fmt.Sprintf(`"dataset:<ds-%d[0-9]*>"`, i%4)
		}
		effect := "allow"
		if i%11 == 0 {
			effect = "deny"
		}
		cond := ""
		if i%9 == 0 {
			cond = `, "conditions": {"time": {"type": "TimeWindowCondition", "options": {"from": "2026-01-01T00:00:00Z", "until": "2027-01-01T00:00:00Z"}}}`
		}
		docs = append(docs, fmt.Sprintf(`{"id": "gen-%d", "subjects": [%s], "resources": [%s], "actions": [%q], "effect": %q%s}`,
			i, subject, resource, actionsList[i%len(actionsList)], effect, cond))
	}
	if err := os.WriteFile(filepath.Join(dir, "zz-generated.json"), []byte("["+strings.Join(docs, ",\n")+"]"), 0o600); err != nil {
		b.Fatal(err)
	}
	set, err := LoadDir(dir)
	if err != nil {
		b.Fatal(err)
	}
	if set.Len() != n {
		b.Fatalf("loaded %d policies, want %d", set.Len(), n)
	}
	return set
}

// BenchmarkRights measures one actor's full rights with 200 policies loaded:
// the work done when an actor connects or the policies change.
func BenchmarkRights(b *testing.B) {
	set := benchSet(b, 200)
	datasets := append([]string{"jobads", "taxonomy-concepts"}, func() []string {
		var ds []string
		for i := range 10 {
			ds = append(ds, fmt.Sprintf("ds-%d", i))
		}
		return ds
	}()...)
	for _, actor := range []string{"ifau", "actor-3"} {
		b.Run(fmt.Sprintf("actor=%s/datasets=%d", actor, len(datasets)), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = set.Rights(actor, datasets, insideIfau, "10.0.0.1")
			}
		})
	}
}

// BenchmarkDecide measures one decision with 200 policies loaded.
func BenchmarkDecide(b *testing.B) {
	set := benchSet(b, 200)
	req := Request{Actor: "ifau", Action: ActionSubscribe, Dataset: "jobads", Time: insideIfau, RemoteIP: "10.0.0.1"}
	b.ReportAllocs()
	for b.Loop() {
		_ = set.Decide(req)
	}
}
