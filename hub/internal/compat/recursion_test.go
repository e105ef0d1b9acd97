package compat

import (
	"fmt"
	"testing"
)

// TestRecursionAssumptionsAreChecked compares a recursive schema whose
// change lies under the recursion. The children's items are met again
// while in progress and first assumed compatible; it turns out not to be, so run must
// make a second pass with that pair's changes as the assumption, and stop
// once nothing grows.
func TestRecursionAssumptionsAreChecked(t *testing.T) {
	t.Parallel()
	old, err := load(Document{Schema: []byte(fmt.Sprintf(treeSchema, 100))})
	if err != nil {
		t.Fatal(err)
	}
	cand, err := load(Document{Schema: []byte(fmt.Sprintf(treeSchema, 50))})
	if err != nil {
		t.Fatal(err)
	}
	ids := 0
	bo, bn := newBuilder(old, &ids), newBuilder(cand, &ids)
	ro, err := bo.parse(old.root)
	if err != nil {
		t.Fatal(err)
	}
	rn, err := bn.parse(cand.root)
	if err != nil {
		t.Fatal(err)
	}
	c := newComparator(false)
	out := c.run(ro, rn)
	if c.err != nil {
		t.Fatal(c.err)
	}
	// The children's items ({"$ref": "#"}) are met again under themselves.
	if len(c.assumed) == 0 {
		t.Fatal("no pair was met again while in progress")
	}
	for k := range c.assumed {
		if b, _ := flags(c.seed[k]); !b {
			t.Fatalf("after run, a pair that breaks backward is still assumed compatible: seed %v", c.seed[k])
		}
	}
	if b, _ := flags(out); !b {
		t.Fatalf("the change under the recursion is not reported: %v", out)
	}
	if c.passes < 2 {
		t.Fatalf("run stopped after %d pass, with an assumption that did not hold", c.passes)
	}
	// A second run on the settled seed changes nothing.
	again := c.run(ro, rn)
	if len(dedupe(again)) != len(dedupe(out)) {
		t.Fatalf("run is not stable: %d changes, then %d", len(out), len(again))
	}
}
