package recordfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func collect(t *testing.T, name, content string) []Record {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	var out []Record
	if err := ReadFile(p, func(r Record) error { out = append(out, r); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestReadFile(t *testing.T) {
	tests := []struct {
		name, file, content string
		lines               []int
		data                []string
	}{
		{"ndjson skips blank lines", "a.ndjson", "{\"a\":1}\n\n{\"a\":2}\n", []int{1, 3}, []string{`{"a":1}`, `{"a":2}`}},
		{"jsonl", "a.jsonl", "{\"a\":1}", []int{1}, []string{`{"a":1}`}},
		{"json object", "a.json", "\n\n{\n \"a\": 1\n}\n", []int{3}, []string{"{\n \"a\": 1\n}"}},
		{"json array", "a.json", "[\n{\"a\":1},\n {\"a\":2}\n]", []int{2, 3}, []string{`{"a":1}`, `{"a":2}`}},
		{"broken json passed whole", "a.json", "{\"a\":", []int{1}, []string{`{"a":`}},
		{"broken ndjson line passed on", "a.ndjson", "nope\n{\"a\":1}", []int{1, 2}, []string{"nope", `{"a":1}`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := collect(t, tc.file, tc.content)
			if len(got) != len(tc.lines) {
				t.Fatalf("got %d records, want %d: %+v", len(got), len(tc.lines), got)
			}
			for i, r := range got {
				if r.Line != tc.lines[i] || string(r.Data) != tc.data[i] {
					t.Errorf("record %d = line %d %q, want line %d %q", i, r.Line, r.Data, tc.lines[i], tc.data[i])
				}
			}
		})
	}
}

func TestReadFileMissing(t *testing.T) {
	err := ReadFile(filepath.Join(t.TempDir(), "nope.json"), func(Record) error { return nil })
	if err == nil {
		t.Fatal("want error for a missing file")
	}
}

// A name that says no format (standard input, a pipe, /dev/stdin) is read
// once and told by its content.
func TestReadStream(t *testing.T) {
	tests := []struct {
		name, content string
		lines         []int
		data          []string
	}{
		{"ndjson", "\n{\"a\":1}\n{\"a\":2}\n\n{\"a\":3}", []int{2, 3, 5}, []string{`{"a":1}`, `{"a":2}`, `{"a":3}`}},
		{"ndjson with a broken first line", "{\"a\":}\n{\"a\":2}", []int{1, 2}, []string{`{"a":}`, `{"a":2}`}},
		{"one record on one line", "{\"a\":1}\n", []int{1}, []string{`{"a":1}`}},
		{"pretty-printed record", "\n{\n \"a\": 1\n}\n", []int{2}, []string{"{\n \"a\": 1\n}"}},
		{"array", "[{\"a\":1},\n{\"a\":2}]", []int{1, 2}, []string{`{"a":1}`, `{"a":2}`}},
		{"garbage", "nope nope", []int{1}, []string{"nope nope"}},
		{"empty", "\n \n", nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, file := range []string{"records", "records.txt"} {
				got := collect(t, file, tc.content)
				var streamed []Record
				if err := ReadStream("stdin", strings.NewReader(tc.content), func(r Record) error { streamed = append(streamed, r); return nil }); err != nil {
					t.Fatal(err)
				}
				for _, recs := range [][]Record{got, streamed} {
					if len(recs) != len(tc.lines) {
						t.Fatalf("%s: got %d records, want %d: %+v", file, len(recs), len(tc.lines), recs)
					}
					for i, r := range recs {
						if r.Line != tc.lines[i] || string(r.Data) != tc.data[i] {
							t.Errorf("%s: record %d = line %d %q, want line %d %q", file, i, r.Line, r.Data, tc.lines[i], tc.data[i])
						}
					}
				}
			}
		})
	}
}
