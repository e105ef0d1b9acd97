package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

// TestDecodeRefusesWhatParsersDisagreeOn covers the I-JSON rules: each record
// parses differently in some common decoder, so the hub and the kit refuse it
// at decode, naming the offending value's pointer.
func TestDecodeRefusesWhatParsersDisagreeOn(t *testing.T) {
	many := func(dupAt int) string { // an object past the linear duplicate check
		var b strings.Builder
		b.WriteString(`{"o":{`)
		for i := 0; i < 40; i++ {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `"k%d":%d`, i, i)
		}
		if dupAt >= 0 {
			fmt.Fprintf(&b, `,"k%d":0`, dupAt)
		}
		b.WriteString(`}}`)
		return b.String()
	}
	tests := []struct {
		name, data       string
		pointer, keyword string
		msg              string
	}{
		{"duplicate id", `{"id":"22884504","headline":"x","id":"squat"}`, "/id", "duplicateKey", `member "id" appears more than once`},
		{"duplicate nested", `{"a":{"b":1,"c":2,"b":3}}`, "/a/b", "duplicateKey", `"b"`},
		{"duplicate spelt with an escape", `{"a":1,"\u0061":2}`, "/a", "duplicateKey", `"a"`},
		{"duplicate in an array's object", `{"l":[{"x":1},{"x":1,"x":2}]}`, "/l/1/x", "duplicateKey", `"x"`},
		{"duplicate in a large object", many(7), "/o/k7", "duplicateKey", `"k7"`},
		{"duplicate name with a slash", `{"a/b":1,"a/b":2}`, "/a~1b", "duplicateKey", `"a/b"`},
		{"1e400", `{"n":1e400}`, "/n", "number", "outside the range of a 64-bit float"},
		{"-1E+400", `{"n":-1E+400}`, "/n", "number", "outside the range"},
		{"huge decimal", `{"n":` + strings.Repeat("9", 400) + `.5}`, "/n", "number", "outside the range"},
		{"1e-400", `{"n":1e-400}`, "/n", "number", "read it as 0"},
		{"in an array", `{"l":[1,2,1e400]}`, "/l/2", "number", "outside the range"},
		{"30-digit integer", `{"legacy_id":123456789012345678901234567890}`, "/legacy_id", "number", "beyond ±9007199254740991"},
		{"2^53", `{"n":9007199254740992}`, "/n", "number", "beyond ±9007199254740991"},
		{"-2^53", `{"n":-9007199254740992}`, "/n", "number", "beyond"},
		{"lone high surrogate", `{"s":"\ud800"}`, "/s", "surrogate", `lone UTF-16 surrogate \ud800`},
		{"lone low surrogate", `{"s":"ok \uDC00"}`, "/s", "surrogate", `\udc00`},
		{"high then not low", `{"s":"\ud800\u0041"}`, "/s", "surrogate", `\ud800`},
		{"high at the end", `{"a":{"s":["x","\ud83d"]}}`, "/a/s/1", "surrogate", `\ud83d`},
		{"in a member name", `{"o":{"\ud800":1}}`, "/o", "surrogate", "member name"},
		{"pointer escapes", `{"a/b":{"c~d":1e400}}`, "/a~1b/c~0d", "number", "outside"},
		{"first of several", `{"n":1e400,"id":1,"id":2}`, "/n", "number", "outside"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, vs := Decode([]byte(tt.data), Limits{})
			if len(vs) != 1 || v != nil {
				t.Fatalf("want one violation and no value, got %v, %v", vs, v)
			}
			if got := vs[0]; got.Pointer != tt.pointer || got.Keyword != tt.keyword || !strings.Contains(got.Message, tt.msg) {
				t.Fatalf("got %+v\nwant pointer %q, keyword %q, message containing %q", got, tt.pointer, tt.keyword, tt.msg)
			}
		})
	}
}

func TestDecodeKeepsWhatEveryParserReadsAlike(t *testing.T) {
	for _, in := range []string{
		`{"a":{"x":1},"b":{"x":1},"x":[{"x":1},{"x":2}]}`, // same name in different objects
		`{"n":9007199254740991,"m":-9007199254740991,"z":-0,"big":1e308,"tiny":4.9e-324,"zero":0e999}`,
		`{"pi":3.14159265358979323846264338327950288419716939937510,"f":1e20,"g":0.1}`,
		`{"s":"\ud83d\ude00 \u00e9 \\ud800 \"\\\""}`, // a pair; an escaped backslash before ud800 is text
		many0(),
	} {
		if _, vs := Decode([]byte(in), Limits{}); vs != nil {
			t.Errorf("%.60s: %v", in, vs)
		}
	}
	for _, ad := range append(realAds(t), smallAd(t)) {
		if _, vs := Decode(ad, Limits{}); vs != nil {
			t.Errorf("real ad refused: %v", vs)
		}
	}
}

func many0() string {
	var b strings.Builder
	b.WriteByte('{')
	for i := 0; i < 100; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"k%d":%d`, i, i)
	}
	b.WriteByte('}')
	return b.String()
}

// TestSafeIntegerWhereSchemaSaysInteger: integers written with an exponent or
// a fraction pass decode (1e20 is an exact float64), but where the schema
// says integer they must be within ±(2^53−1) like any other integer.
func TestSafeIntegerWhereSchemaSaysInteger(t *testing.T) {
	s := mustCompile(t, `{"properties":{"i":{"type":"integer"},"j":{"type":["null","integer"]},"n":{"type":"number"},
		"l":{"items":{"$ref":"#/$defs/int"}}},"$defs":{"int":{"type":"integer"}}}`)
	tests := []struct {
		record, pointer string
	}{
		{`{"i":1e20}`, "/i"},
		{`{"i":12345678901234567890.0}`, "/i"},
		{`{"j":-1e16}`, "/j"},
		{`{"l":[1,2,9.1e15]}`, "/l/2"},
		{`{"i":1e15,"j":5.0,"n":1e20,"l":[9007199254740991.0]}`, ""},
	}
	for _, tt := range tests {
		_, vs := s.Check([]byte(tt.record), Limits{})
		if tt.pointer == "" {
			if vs != nil {
				t.Errorf("%s: %v", tt.record, vs)
			}
			continue
		}
		if len(vs) != 1 || vs[0].Pointer != tt.pointer || vs[0].Keyword != "type" || !strings.Contains(vs[0].Message, "beyond ±9007199254740991") {
			t.Errorf("%s: got %v, want a type violation at %s", tt.record, vs, tt.pointer)
		}
	}
}

// refIssue is a slow, obviously right check of duplicate member names and
// lone surrogates built on encoding/json's tokenizer, to hold the scanner to.
func refIssue(data []byte) (dup bool, err error) {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	type obj struct {
		names  map[string]bool
		expect bool // the next string token is a member name
	}
	var stack []*obj
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			return dup, nil
		}
		if err != nil {
			return dup, err
		}
		var top *obj
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		switch tok := tok.(type) {
		case json.Delim:
			switch tok {
			case '{':
				stack = append(stack, &obj{names: map[string]bool{}, expect: true})
				continue
			case '[':
				stack = append(stack, nil)
				continue
			default:
				stack = stack[:len(stack)-1]
			}
		case string:
			if top != nil && top.expect {
				if top.names[tok] {
					dup = true
				}
				top.names[tok] = true
				top.expect = false
				continue
			}
		}
		if len(stack) > 0 && stack[len(stack)-1] != nil {
			stack[len(stack)-1].expect = true
		}
	}
}

// FuzzScanRecord holds the one-pass scanner to encoding/json: it never calls
// well-formed JSON malformed, and it finds a duplicate member name exactly
// when there is one.
func FuzzScanRecord(f *testing.F) {
	for _, s := range []string{`{"a":1,"a":2}`, `{"a":{"b":[1,{"c":1,"c":2}]}}`, `{"\u0061":1,"a":2}`, `{"n":1e400}`,
		`{"s":"\ud800"}`, `[1,2,3]`, `{"a":"\\\"","b":[]}`, many0(), `{"x":-0.5e-3,"y":"\ud83d\ude00"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		out, _, issue := scanRecord(data, 1000)
		if !json.Valid(data) {
			return
		}
		if out != scanOK {
			t.Fatalf("%q: well-formed JSON scanned as %v", data, out)
		}
		if bytes.Contains(bytes.ToLower(data), []byte(`\ud`)) {
			return // surrogates: encoding/json's names lose them
		}
		dup, err := refIssue(data)
		if err != nil {
			t.Fatal(err)
		}
		gotDup := issue != nil && issue.Keyword == KeywordDuplicateKey
		if dup && issue == nil || !dup && gotDup {
			t.Fatalf("%q: duplicate %v, scanner found %+v", data, dup, issue)
		}
	})
}
