package fastschema

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// TestRegressions replays every disagreement ever found (testdata/regressions)
// against both validators.
func TestRegressions(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("testdata/regressions/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no regression cases: %v", err)
	}
	for _, f := range files {
		var c struct {
			Note    string          `json:"note"`
			Schema  json.RawMessage `json:"schema"`
			Records []string        `json:"records"`
		}
		if err := json.Unmarshal(readFile(t, f), &c); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if c.Note == "" || len(c.Records) == 0 {
			t.Fatalf("%s: a case needs a note and records", f)
		}
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		t.Run(name, func(t *testing.T) {
			fast, o := dcase{name: name, doc: c.Schema, opts: Options{Key: "/id", Tombstone: "/removed"}}.compile(t)
			var recs [][]byte
			for _, r := range c.Records {
				recs = append(recs, []byte(r))
			}
			agree(t, fast, o, recs)
		})
	}
}
