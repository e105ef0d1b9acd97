package compat

import (
	"bytes"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/jobtech-dev/datahub/connector-kit/schema"
)

// allCases returns every row of the compatibility table.
func allCases(t testing.TB) []pairCase {
	var out []pairCase
	out = append(out, objectCases...)
	out = append(out, scalarCases...)
	out = append(out, structureCases...)
	return append(out, jobAdCases(t)...)
}

// TestTableHasEnoughPairs keeps the table at the size the issue asks for.
func TestTableHasEnoughPairs(t *testing.T) {
	t.Parallel()
	if n := len(allCases(t)); n < 60 {
		t.Fatalf("the table has %d schema pairs; want at least 60", n)
	}
}

// exampleRecords returns the valid example records of every shipped dataset.
func exampleRecords(t testing.TB) []any {
	t.Helper()
	var out []any
	files, _ := filepath.Glob("../../../schemas/*/examples/valid/*")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
			if filepath.Ext(f) != ".ndjson" {
				line = b
			}
			v, err := decode(line)
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			out = append(out, v)
			if filepath.Ext(f) != ".ndjson" {
				break
			}
		}
	}
	if len(out) < 5 {
		t.Fatalf("found %d example records", len(out))
	}
	return out
}

// compileDoc compiles a Document with the reference validator.
func compileDoc(t testing.TB, d Document) *schema.Schema {
	t.Helper()
	name := d.Name
	if name == "" {
		name = defaultName
	}
	s, err := schema.Compile(name, d.Schema, d.Resources)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// probe makes records for a pair: the shipped examples and mutations of
// them, values guided by each schema, and random values from the pair's
// vocabulary.
func probe(t testing.TB, seed uint64, old, cand Document, examples []any, n int) []any {
	ov, err := decode(old.Schema)
	if err != nil {
		t.Fatal(err)
	}
	nv, err := decode(cand.Schema)
	if err != nil {
		t.Fatal(err)
	}
	g := newGen(seed, ov, nv)
	out := append([]any{}, examples...)
	for _, e := range examples {
		for range 3 {
			out = append(out, g.mutate(e, ov, 0))
		}
	}
	for range n {
		out = append(out, g.guided(ov, ov, 0), g.guided(nv, nv, 0), g.value(0))
	}
	return out
}

// TestVerdictsHoldOnRecords checks the checker against the reference
// validator: for every pair of the table judged compatible in a direction,
// no record valid under the source schema fails the other one. Records are
// the shipped examples (for the job-ad pairs, with mutations) and 150
// generated ones per pair. For directions judged incompatible it counts how
// often a generated record proves the refusal right (a figure, not a
// requirement: the checker may refuse what it cannot prove).
func TestVerdictsHoldOnRecords(t *testing.T) {
	t.Parallel()
	examples := exampleRecords(t)
	var refused, witnessed atomic.Int64
	cases := allCases(t)
	for i, pc := range cases {
		if pc.policy == Lenient || pc.skipPropertyCheck {
			continue // lenient verdicts assume records carry no unnamed property
		}
		t.Run(pc.name, func(t *testing.T) {
			t.Parallel()
			old, cand := pc.docs()
			so, sn := compileDoc(t, old), compileDoc(t, cand)
			var ex []any
			if bytes.Contains(old.Schema, []byte("jobtechdev.se/datahub/jobads")) {
				ex = examples
			}
			records := probe(t, uint64(i+1), old, cand, ex, 50)
			var validOld, validNew int
			var brokeB, brokeF bool
			for _, r := range records {
				inOld, inNew := so.Validate(r) == nil, sn.Validate(r) == nil
				if inOld {
					validOld++
				}
				if inNew {
					validNew++
				}
				if inOld && !inNew {
					brokeB = true
					if pc.backward {
						t.Errorf("judged backward compatible, but %s is valid under the old schema and fails the new one: %v", render(r), sn.Validate(r))
					}
				}
				if inNew && !inOld {
					brokeF = true
					if pc.forward {
						t.Errorf("judged forward compatible, but %s is valid under the new schema and fails the old one: %v", render(r), so.Validate(r))
					}
				}
			}
			if validOld == 0 || validNew == 0 {
				t.Errorf("no generated record is valid (old %d, new %d of %d)", validOld, validNew, len(records))
			}
			for _, x := range []struct{ compatible, broke bool }{{pc.backward, brokeB}, {pc.forward, brokeF}} {
				if !x.compatible {
					refused.Add(1)
					if x.broke {
						witnessed.Add(1)
					}
				}
			}
		})
	}
	t.Cleanup(func() {
		t.Logf("refused directions with a record that proves the refusal: %d of %d", witnessed.Load(), refused.Load())
	})
}
