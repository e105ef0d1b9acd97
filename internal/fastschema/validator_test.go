package fastschema

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/jobtech-dev/datahub/connector-kit/schema"
)

func compileInline(tb testing.TB, doc string, opts Options) *Validator {
	tb.Helper()
	v, err := Compile("inline.schema.json", []byte(doc), nil, opts)
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

// TestDecodeChecks: every decode check of the reference, with the keyword
// and pointer the reference reports, and the reference's order (syntax and
// depth first, then not an object, then the first I-JSON rule broken).
func TestDecodeChecks(t *testing.T) {
	t.Parallel()
	v := compileInline(t, `{}`, Options{Limits: schema.Limits{MaxBytes: 4096, MaxDepth: 5}})
	many := func(dup bool) string {
		var b strings.Builder
		b.WriteString(`{"o":{`)
		for i := 0; i < 40; i++ {
			fmt.Fprintf(&b, `"k%d":%d,`, i, i)
		}
		if dup {
			b.WriteString(`"k7":0,`)
		}
		b.WriteString(`"z":1}}`)
		return b.String()
	}
	tests := []struct {
		name, data, keyword, pointer string
	}{
		{"too large", `{"s":"` + strings.Repeat("x", 4096) + `"}`, KeywordMaxBytes, ""},
		{"not UTF-8", "{\"s\":\"\xff\"}", KeywordUTF8, ""},
		{"too deep", `{"a":[[[[[1]]]]]}`, KeywordMaxDepth, ""},
		{"too deep after a syntax error", `{"a":x,"b":[[[[[1]]]]]}`, KeywordMaxDepth, ""},
		{"syntax", `{"a":1,}`, KeywordJSON, ""},
		{"empty", ``, KeywordJSON, ""},
		{"trailing text", `{} x`, KeywordJSON, ""},
		{"control character", "{\"a\":\"\t\"}", KeywordJSON, ""},
		{"bad escape", `{"a":"\x"}`, KeywordJSON, ""},
		{"not an object", `[1,2]`, KeywordType, ""},
		{"not an object, with a duplicate", `[{"a":1,"a":2}]`, KeywordType, ""},
		{"syntax wins over a duplicate", `{"a":1,"a":2,}`, KeywordJSON, ""},
		{"duplicate", `{"id":"1","x":2,"id":"2"}`, KeywordDuplicateKey, "/id"},
		{"duplicate spelt with an escape", `{"a":1,"\u0061":2}`, KeywordDuplicateKey, "/a"},
		{"duplicate nested", `{"l":[{"x":1},{"x":1,"x":2}]}`, KeywordDuplicateKey, "/l/1/x"},
		{"duplicate in a large object", many(true), KeywordDuplicateKey, "/o/k7"},
		{"duplicate with a slash", `{"a/b":1,"a/b":2}`, KeywordDuplicateKey, "/a~1b"},
		{"1e400", `{"n":1e400}`, KeywordNumber, "/n"},
		{"-1E+400", `{"n":[-1E+400]}`, KeywordNumber, "/n/0"},
		{"1e-400", `{"n":1e-400}`, KeywordNumber, "/n"},
		{"huge decimal", `{"n":` + strings.Repeat("9", 400) + `.5}`, KeywordNumber, "/n"},
		{"2^53", `{"n":9007199254740992}`, KeywordNumber, "/n"},
		{"-2^53", `{"n":-9007199254740992}`, KeywordNumber, "/n"},
		{"30 digits", `{"n":123456789012345678901234567890}`, KeywordNumber, "/n"},
		{"lone high surrogate", `{"s":"\ud800"}`, KeywordSurrogate, "/s"},
		{"lone low surrogate", `{"s":"ok \uDC00"}`, KeywordSurrogate, "/s"},
		{"high then not low", `{"s":"\ud800\u0041"}`, KeywordSurrogate, "/s"},
		{"surrogate in a member name", `{"o":{"\ud800":1}}`, KeywordSurrogate, "/o"},
		{"first rule broken wins", `{"n":1e400,"id":1,"id":2}`, KeywordNumber, "/n"},
		{"pointer escapes", `{"a/b":{"c~d":1e400}}`, KeywordNumber, "/a~1b/c~0d"},
	}
	for _, tt := range tests {
		res := v.Validate([]byte(tt.data))
		if res.Valid || res.Failure != (Failure{Stage: StageDecode, Keyword: tt.keyword, Pointer: tt.pointer}) {
			t.Errorf("%s: got %+v, want %s at %q", tt.name, res, tt.keyword, tt.pointer)
		}
	}
	for _, ok := range []string{many(false), `{"n":9007199254740991,"m":-9007199254740991,"z":-0,"big":1e308,"tiny":4.9e-324,"zero":0e999}`,
		`{"pi":3.14159265358979323846264338327950288419716939937510,"f":1e20,"g":0.1}`,
		`{"s":"\ud83d\ude00 \u00e9 \\ud800 \"\\\""}`, ` {"a":{"x":1},"b":{"x":1}} `, `{"a":[[[1]]]}`} {
		if res := v.Validate([]byte(ok)); !res.Valid {
			t.Errorf("%.60s: %+v", ok, res.Failure)
		}
	}
}

// TestNumbers: numbers are judged exactly, whatever their spelling.
func TestNumbers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		schema, record string
		valid          bool
	}{
		{`{"properties":{"n":{"type":"integer"}}}`, `{"n":1.0}`, true},
		{`{"properties":{"n":{"type":"integer"}}}`, `{"n":1e2}`, true},
		{`{"properties":{"n":{"type":"integer"}}}`, `{"n":1.5e1}`, true},
		{`{"properties":{"n":{"type":"integer"}}}`, `{"n":1.25e1}`, false},
		{`{"properties":{"n":{"type":"integer"}}}`, `{"n":-0}`, true},
		{`{"properties":{"n":{"type":"integer"}}}`, `{"n":1e20}`, false},
		{`{"properties":{"n":{"type":"integer"}}}`, `{"n":9007199254740991.0}`, true},
		{`{"properties":{"n":{"type":"integer"}}}`, `{"n":12345678901234567890.0}`, false},
		{`{"properties":{"n":{"type":["integer","number"]}}}`, `{"n":1e20}`, false},
		{`{"properties":{"n":{"type":"number"}}}`, `{"n":1e20}`, true},
		{`{"properties":{"n":{"type":"number"}}}`, `{"n":1e308}`, true},
		{`{"properties":{"n":{"minimum":0}}}`, `{"n":-0}`, true},
		{`{"properties":{"n":{"exclusiveMinimum":0}}}`, `{"n":-0.0}`, false},
		{`{"properties":{"n":{"maximum":0.1}}}`, `{"n":0.1000000000000000000001}`, false},
		{`{"properties":{"n":{"maximum":0.1}}}`, `{"n":0.09999999999999999999999}`, true},
		{`{"properties":{"n":{"multipleOf":0.1}}}`, `{"n":0.3}`, true},
		{`{"properties":{"n":{"multipleOf":0.1}}}`, `{"n":0.30000000000000004}`, false},
		{`{"properties":{"n":{"multipleOf":3}}}`, `{"n":1e19}`, false},
		{`{"properties":{"n":{"multipleOf":2.5}}}`, `{"n":1e19}`, true},
		{`{"properties":{"n":{"const":1}}}`, `{"n":1.0}`, true},
		{`{"properties":{"n":{"const":0}}}`, `{"n":-0e5}`, true},
		{`{"properties":{"n":{"enum":["1",1e2]}}}`, `{"n":100}`, true},
		{`{"properties":{"n":{"enum":["1",1e2]}}}`, `{"n":1}`, false},
		{`{"properties":{"n":{"const":[1,{"a":2.0}]}}}`, `{"n":[1.0,{"a":2}]}`, true},
		{`{"properties":{"n":{"uniqueItems":true}}}`, `{"n":[1,{"a":1,"b":2},1.0]}`, false},
		{`{"properties":{"n":{"uniqueItems":true}}}`, `{"n":[{"a":1,"b":2},{"b":2,"a":1}]}`, false},
		{`{"properties":{"n":{"uniqueItems":true}}}`, `{"n":[{"a":1,"b":2},{"b":2,"a":1.5}]}`, true},
	}
	for _, tt := range tests {
		c := dcase{name: "numbers", doc: []byte(tt.schema)}
		fast, o := c.compile(t)
		if d := disagreement(fast, o, []byte(tt.record)); d != "" {
			t.Errorf("%s %s: %s", tt.schema, tt.record, d)
		}
		if got := fast.Validate([]byte(tt.record)).Valid; got != tt.valid {
			t.Errorf("%s %s: valid=%v, want %v", tt.schema, tt.record, got, tt.valid)
		}
	}
}

// TestKeyAndTombstone: the key is read as the registry reads it, and the
// tombstone flag is true only for the literal true.
func TestKeyAndTombstone(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 257)
	wide := strings.Repeat("é", 50) // 100 bytes, 300 encoded
	tests := []struct {
		key, tomb, record, want string
		ok, isTomb              bool
	}{
		{"/id", "/removed", `{"id":"22884504","removed":true}`, "22884504", true, true},
		{"/id", "/removed", `{"removed":"true","id":22884504}`, "22884504", true, false},
		{"/id", "", `{"id":-0}`, "-0", true, false},
		{"/id", "", `{"id":1.0}`, "", false, false},
		{"/id", "", `{"id":1e3}`, "", false, false},
		{"/id", "", `{"id":""}`, "", false, false},
		{"/id", "", `{"id":"\u00e9\n"}`, "é\n", true, false},
		{"/id", "", `{"id":"` + long + `"}`, "", false, false},
		{"/id", "", `{"id":"` + wide + `"}`, "", false, false},
		{"/id", "", `{"id":null}`, "", false, false},
		{"/id", "", `{"id":{"id":"x"}}`, "", false, false},
		{"/id", "", `{"x":"y"}`, "", false, false},
		{"/a/b~1c/1", "/a/t", `{"a":{"t":true,"b/c":["x","y"]}}`, "y", true, true},
		{"/a/01", "", `{"a":["x","y"]}`, "", false, false},
		{"/a/01", "", `{"a":{"01":"z"}}`, "z", true, false},
		{"/\u0069d", "/r", `{"\u0069d":"k","r":false}`, "k", true, false},
	}
	for _, tt := range tests {
		c := dcase{name: "key", doc: []byte(`{}`), opts: Options{Key: tt.key, Tombstone: tt.tomb}}
		fast, o := c.compile(t)
		if d := disagreement(fast, o, []byte(tt.record)); d != "" {
			t.Errorf("%s: %s", tt.record, d)
		}
		res := fast.Validate([]byte(tt.record))
		if !res.Valid || res.Key != tt.want || res.KeyOK != tt.ok || res.Tombstone != tt.isTomb {
			t.Errorf("%s with key %s: %+v", tt.record, tt.key, res)
		}
	}
	if _, err := Compile("x.json", []byte(`{}`), nil, Options{Key: "id"}); !errors.Is(err, ErrInvalidOption) {
		t.Errorf("a key that is not a pointer: %v", err)
	}
}

// TestUnsupported: what the fast path does not implement is refused with
// the keyword and where it is, so the caller keeps the reference.
func TestUnsupported(t *testing.T) {
	t.Parallel()
	tests := []struct{ doc, keyword, loc string }{
		{`{"$schema":"http://json-schema.org/draft-07/schema#","properties":{"a":{"type":"string"}}}`, "$schema", "#"},
		{`{"properties":{"a":{"unevaluatedProperties":false}}}`, "unevaluatedProperties", "#/properties/a"},
		{`{"unevaluatedItems":false}`, "unevaluatedItems", "#"},
		{`{"$dynamicAnchor":"x","properties":{"a":{"$dynamicRef":"#x"}}}`, "$dynamicRef", "#/properties/a"},
		{`{"$defs":{"a":{"$ref":"#/$defs/b"},"b":{"allOf":[{"$ref":"#/$defs/a"}]}},"properties":{"x":{"$ref":"#/$defs/a"}}}`, "$ref cycle", "#/$defs/"},
	}
	for _, tt := range tests {
		_, err := Compile("u.schema.json", []byte(tt.doc), nil, Options{})
		var ue *UnsupportedError
		if !errors.As(err, &ue) || !errors.Is(err, ErrUnsupported) || ue.Keyword != tt.keyword || !strings.Contains(ue.Location, tt.loc) {
			t.Errorf("%s: %v", tt.doc, err)
		}
	}
	// Recursion that descends into the value is supported.
	v := compileInline(t, `{"$defs":{"tree":{"type":"object","properties":{"kids":{"type":"array","items":{"$ref":"#/$defs/tree"}}},"required":["name"]}},"$ref":"#/$defs/tree"}`, Options{})
	for rec, want := range map[string]bool{`{"name":1,"kids":[{"name":2,"kids":[]}]}`: true, `{"name":1,"kids":[{"kids":[]}]}`: false} {
		if got := v.Validate([]byte(rec)).Valid; got != want {
			t.Errorf("recursive schema on %s: %v", rec, got)
		}
	}
	// Schemas the reference refuses are refused.
	if _, err := Compile("bad.schema.json", []byte(`{"type":"strin"}`), nil, Options{}); !errors.Is(err, schema.ErrInvalidSchema) {
		t.Errorf("invalid schema: %v", err)
	}
	if _, err := Compile("ref.schema.json", []byte(`{"$ref":"https://example.com/x.json"}`), nil, Options{}); err == nil {
		t.Error("a $ref to an unknown document compiled")
	}
}

// TestNoAllocations: a valid record costs no allocation but its key.
func TestNoAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop runs")
	}
	ad := smallAd(t)
	for _, c := range []struct {
		opts Options
		max  float64
	}{{Options{Keywords: allAdsValid(t).Keywords}, 0}, {allAdsValid(t), 1}} {
		v := mustCompileFile(t, jobAdSchema, nil, c.opts)
		v.Validate(ad)
		if n := testing.AllocsPerRun(200, func() { v.Validate(ad) }); n > c.max {
			t.Errorf("%+v: %.1f allocations per record, want at most %.0f", c.opts, n, c.max)
		}
		for _, real := range realAds(t) {
			v.Validate(real)
			if n := testing.AllocsPerRun(50, func() { v.Validate(real) }); n > c.max {
				t.Errorf("%+v: %.1f allocations per real ad, want at most %.0f", c.opts, n, c.max)
			}
		}
	}
}

// TestConcurrentUse validates from many goroutines at once (run with -race).
func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	v := mustCompileFile(t, jobAdSchema, nil, jobAdOptions(jobAdTaxonomy(t).lookup))
	recs := append(realAds(t), smallAd(t), []byte(`{"id":"x","id":"y"}`), []byte(`{"id":"1","removed":true}`))
	want := make([]Result, len(recs))
	for i, r := range recs {
		want[i] = v.Validate(r)
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				for j, r := range recs {
					if got := v.Validate(r); got != want[j] {
						t.Errorf("record %d: %+v, then %+v", j, want[j], got)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
}

// TestUniqueItemsLong covers arrays long enough for uniqueItems to compare
// items by hash: duplicates spelt differently (1 and 1.0, members in another
// order, escaped text) must be found, distinct items must pass.
func TestUniqueItemsLong(t *testing.T) {
	t.Parallel()
	c := dcase{name: "unique", doc: []byte(`{"properties":{"l":{"uniqueItems":true}}}`)}
	fast, o := c.compile(t)
	item := func(i int) string {
		switch i % 5 {
		case 0:
			return fmt.Sprint(i)
		case 1:
			return fmt.Sprintf(`"s%d"`, i)
		case 2:
			return fmt.Sprintf(`{"a":%d,"b":[%d,null]}`, i, i)
		case 3:
			return fmt.Sprintf(`[%d,{"x":true}]`, i)
		}
		return fmt.Sprintf("%d.5", i)
	}
	var recs [][]byte
	for _, n := range []int{21, 30, 100} {
		var items []string
		for i := 0; i < n; i++ {
			items = append(items, item(i))
		}
		recs = append(recs, []byte(`{"l":[`+strings.Join(items, ",")+`]}`))
		for _, dup := range []string{"5.0", "50e-1", `"s6"`, `"\u00736"`, `{"b":[7,null],"a":7}`, `{"b":[7,null],"a":7.0}`,
			`[8,{"x":true}]`, `[8.0, {"x" : true}]`, "9.50", "true", "null", `{"a":7,"b":[7]}`} {
			recs = append(recs, []byte(`{"l":[`+strings.Join(items, ",")+`,`+dup+`]}`))
			recs = append(recs, []byte(`{"l":[`+dup+`,`+strings.Join(items, ",")+`,`+dup+`]}`))
		}
	}
	agree(t, fast, o, recs)
	if fast.Validate(recs[0]).Valid != true || fast.Validate(recs[1]).Valid != false {
		t.Error("a long array's duplicate was not judged")
	}
}

// TestManyProperties covers schemas with more names than one 64-bit word of
// presence bits: required, dependentRequired and duplicates beyond it.
func TestManyProperties(t *testing.T) {
	t.Parallel()
	props := map[string]any{}
	var req []any
	for i := 0; i < 150; i++ {
		props[fmt.Sprintf("p%d", i)] = map[string]any{"type": "integer"}
		if i%7 == 0 {
			req = append(req, fmt.Sprintf("p%d", i))
		}
	}
	doc := marshal(map[string]any{"properties": props, "required": req,
		"dependentRequired": map[string]any{"p130": []any{"p149"}}})
	fast, o := dcase{name: "many", doc: doc}.compile(t)
	full := map[string]any{}
	for i := 0; i < 150; i++ {
		full[fmt.Sprintf("p%d", i)] = i
	}
	recs := [][]byte{marshal(full)}
	for _, drop := range []string{"p0", "p70", "p140", "p149", "p1"} {
		m := map[string]any{}
		for k, v := range full {
			if k != drop {
				m[k] = v
			}
		}
		recs = append(recs, marshal(m))
	}
	whole := string(marshal(full))
	recs = append(recs, []byte(strings.Replace(whole, "{", `{"p140":1,`, 1)), []byte(strings.Replace(whole, "{", `{"p66":1,`, 1)),
		[]byte(strings.Replace(whole, `"p99":99`, `"p99":"x"`, 1)))
	agree(t, fast, o, recs)
	if !fast.Validate(recs[0]).Valid || fast.Validate(recs[3]).Valid || fast.Validate(recs[6]).Failure.Keyword != KeywordDuplicateKey {
		t.Error("required or duplicates beyond the first word of presence bits were misjudged")
	}
}
