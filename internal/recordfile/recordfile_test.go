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

// TestReadMap: with MapKey, a JSON document whose member values are all
// objects is a map of records (JobTech's taxonomy file); anything else reads
// as without it.
func TestReadMap(t *testing.T) {
	pretty := "{\n  \"vrDq_rUY_7PX\": {\n    \"label\": \"Ospecificerad\",\n    \"type\": \"region\"\n  },\n  \"11L4_Q2Z_8tM\": {\"label\": \"Kylteknik\", \"type\": \"skill\"},\n  \"e<&>\": {},\n  \"AvNB_uwa_6n6\": {\"id\": \"AvNB_uwa_6n6\", \"type\": \"municipality\"}\n}\n"
	tests := []struct {
		name, file, content string
		lines               []int
		data                []string
	}{
		{"map", "c.json", pretty, []int{2, 6, 7, 8}, []string{
			"{\"id\":\"vrDq_rUY_7PX\",\"label\": \"Ospecificerad\",\n    \"type\": \"region\"}",
			`{"id":"11L4_Q2Z_8tM","label": "Kylteknik", "type": "skill"}`,
			`{"id":"e<&>"}`,
			`{"id": "AvNB_uwa_6n6", "type": "municipality"}`, // already has its id: as it is
		}},
		{"one-line map", "c.json", `{"a":{"x":1},"b":{"x":2}}`, []int{1, 1}, []string{`{"id":"a","x":1}`, `{"id":"b","x":2}`}},
		{"a record with a string member is a record", "c.json", `{"id":"1","employer":{"name":"A"}}`, []int{1}, []string{`{"id":"1","employer":{"name":"A"}}`}},
		{"an empty object is a record", "c.json", `{}`, []int{1}, []string{`{}`}},
		{"an array is records", "c.json", `[{"a":{}},{"b":{}}]`, []int{1, 1}, []string{`{"a":{}}`, `{"b":{}}`}},
		{"ndjson lines are records", "c.ndjson", "{\"a\":{}}\n{\"b\":{}}", []int{1, 2}, []string{`{"a":{}}`, `{"b":{}}`}},
		{"ndjson after a blank line", "c.ndjson", "{\"a\":{}}\n \n {\"b\":{}}\n", []int{1, 3}, []string{`{"a":{}}`, `{"b":{}}`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), tc.file)
			if err := os.WriteFile(p, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			reads := map[string]func(fn func(Record) error) error{
				"file": func(fn func(Record) error) error { return ReadFileWith(p, Options{MapKey: "id"}, fn) },
				"stdin": func(fn func(Record) error) error {
					return ReadStreamWith("stdin", strings.NewReader(tc.content), Options{MapKey: "id"}, fn)
				},
			}
			for how, read := range reads {
				var got []Record
				if err := read(func(r Record) error { got = append(got, r); return nil }); err != nil {
					t.Fatalf("%s: %v", how, err)
				}
				if len(got) != len(tc.lines) {
					t.Fatalf("%s: got %d records, want %d: %+v", how, len(got), len(tc.lines), got)
				}
				for i, r := range got {
					if r.Line != tc.lines[i] || string(r.Data) != tc.data[i] {
						t.Errorf("%s: record %d = line %d %q, want line %d %q", how, i, r.Line, r.Data, tc.lines[i], tc.data[i])
					}
				}
			}
		})
	}
	// Without MapKey the map is one record, as before.
	got := collect(t, "c.json", pretty)
	if len(got) != 1 {
		t.Fatalf("without MapKey: %d records", len(got))
	}
	// A member whose record names another id is an error at its line.
	p := filepath.Join(t.TempDir(), "c.json")
	if err := os.WriteFile(p, []byte("{\n\"a\": {\"id\": \"a\"},\n\"b\": {\"id\": \"c\"}\n}"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := ReadFileWith(p, Options{MapKey: "id"}, func(Record) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "c.json:3: member \"b\" has \"id\": \"c\"") {
		t.Fatalf("conflicting id: %v", err)
	}
}
