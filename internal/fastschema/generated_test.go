package fastschema

import (
	"errors"
	"fmt"
	"testing"
)

// checkGenerated compiles generated schema number seed with both validators
// and holds them to each other on the records. It returns what happened:
// "unsupported", "invalid" (both refuse the schema) or "ok".
func checkGenerated(t *testing.T, seed uint64, extra [][]byte, nrec int) string {
	t.Helper()
	g := newSchemaGen(seed)
	doc := g.document()
	raw := marshal(doc)
	name := fmt.Sprintf("generated-%d.schema.json", seed)
	opts := Options{Key: "/id", Tombstone: "/removed"}
	fast, ferr := Compile(name, raw, nil, opts)
	o, rerr := tryOracle(name, raw, nil, opts, nil)
	switch {
	case rerr != nil && ferr == nil:
		t.Fatalf("seed %d: the reference refuses the schema (%v), the fast path compiles it\n%s", seed, rerr, raw)
	case rerr != nil:
		return "invalid"
	case isUnsupported(ferr):
		return "unsupported"
	case ferr != nil:
		t.Fatalf("seed %d: the fast path refuses a schema the reference compiles: %v\n%s", seed, ferr, raw)
	}
	recs := append([][]byte(nil), extra...)
	for i := 0; i < nrec; i++ {
		recs = append(recs, g.record(doc))
	}
	for _, rec := range recs {
		if d := disagreement(fast, o, rec); d != "" {
			t.Fatalf("seed %d: disagreement on %s:\n  %s\nschema: %s", seed, clip(rec), d, raw)
		}
	}
	return "ok"
}

// TestDifferentialGenerated holds the fast path to the reference on random
// schemas over every keyword it implements, with records made for them.
func TestDifferentialGenerated(t *testing.T) {
	t.Parallel()
	n := 400
	switch {
	case *exhaustive:
		n = 20000
	case raceEnabled:
		n = 60
	}
	counts := map[string]int{}
	for seed := uint64(0); seed < uint64(n); seed++ {
		counts[checkGenerated(t, seed, nil, 40)]++
	}
	t.Logf("%d schemas: %v", n, counts)
	if counts["ok"] < n*2/3 {
		t.Errorf("only %d of %d generated schemas were compared", counts["ok"], n)
	}
}

func isUnsupported(err error) bool { return errors.Is(err, ErrUnsupported) }
