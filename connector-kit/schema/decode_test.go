package schema

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestDecodePreChecks(t *testing.T) {
	deep := func(n int) []byte {
		return []byte(`{"a":` + strings.Repeat("[", n-1) + strings.Repeat("]", n-1) + `}`)
	}
	tests := []struct {
		name    string
		data    []byte
		lim     Limits
		keyword string
		msg     string // substring of the message
	}{
		{"valid", []byte(`{"a":1}`), Limits{}, "", ""},
		{"empty", []byte(``), Limits{}, "json", "byte offset 0 (line 1, column 1): unexpected end of JSON input"},
		{"not JSON", []byte(`hello`), Limits{}, "json", "byte offset 0 (line 1, column 1): invalid character 'h'"},
		{"syntax error position", []byte("{\n  \"a\": 1,\n  \"b\" 2\n}"), Limits{}, "json", "byte offset 18 (line 3, column 7)"},
		{"truncated", []byte(`{"a":"x`), Limits{}, "json", "unexpected end of JSON input"},
		{"trailing data", []byte(`{"a":1} {"b":2}`), Limits{}, "json", "after top-level value"},
		{"raw control char in string", []byte("{\"a\":\"x\x01\"}"), Limits{}, "json", "in string literal"},
		{"bad escape", []byte(`{"a":"\x"}`), Limits{}, "json", "in string escape code"},
		{"trailing comma", []byte(`{"a":1,}`), Limits{}, "json", "looking for beginning of object key"},
		{"single quotes", []byte(`{'a':1}`), Limits{}, "json", "invalid character"},
		{"NaN", []byte(`{"a":NaN}`), Limits{}, "json", "invalid character"},
		{"leading zero", []byte(`{"a":01}`), Limits{}, "json", "invalid character"},
		{"not UTF-8", []byte("{\"a\":\"caf\xe9\"}"), Limits{}, "utf8", "offset 9"},
		{"overlong UTF-8", []byte("{\"a\":\"\xc0\xaf\"}"), Limits{}, "utf8", "not valid UTF-8"},
		{"too large", bytes.Repeat([]byte(" "), DefaultMaxBytes+1), Limits{}, "maxBytes", "1048577 bytes, more than the limit of 1048576"},
		{"too large, own limit", []byte(`{"a":"0123456789"}`), Limits{MaxBytes: 10}, "maxBytes", "limit of 10 bytes"},
		{"at size limit", []byte(`{"a":"01"}`), Limits{MaxBytes: 10}, "", ""},
		{"at depth limit", deep(DefaultMaxDepth), Limits{}, "", ""},
		{"too deep", deep(DefaultMaxDepth + 1), Limits{}, "maxDepth", "limit of 64 levels (at byte offset 68)"},
		{"too deep, own limit", []byte(`{"a":{"b":{}}}`), Limits{MaxDepth: 2}, "maxDepth", "byte offset 10"},
		{"brackets in strings do not count", []byte(`{"a":"[[[{{{\"[[[\\","b":"\\\\"}`), Limits{MaxDepth: 1}, "", ""},
		{"1 MiB nesting bomb", append([]byte(`{"a":`), bytes.Repeat([]byte("["), DefaultMaxBytes-5)...), Limits{}, "maxDepth", "limit of 64 levels"},
		{"1 MiB nesting bomb, huge limit", append([]byte(`{"a":`), bytes.Repeat([]byte("["), DefaultMaxBytes-5)...), Limits{MaxDepth: 1 << 30}, "json", "exceeded max depth"},
		{"top-level array", []byte(`[{"a":1}]`), Limits{}, "type", "must be a JSON object, not an array"},
		{"top-level string", []byte(`"x"`), Limits{}, "type", "not a string"},
		{"top-level null", []byte(`null`), Limits{}, "type", "not null"},
		{"top-level number", []byte(` 12 `), Limits{}, "type", "not a number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, vs := Decode(tt.data, tt.lim)
			if tt.keyword == "" {
				if vs != nil {
					t.Fatalf("want no violation, got %v", vs)
				}
				if _, ok := v.(map[string]any); !ok {
					t.Fatalf("want an object, got %T", v)
				}
				return
			}
			if len(vs) != 1 {
				t.Fatalf("want one violation, got %v", vs)
			}
			if v != nil {
				t.Errorf("want no value with a violation, got %T", v)
			}
			got := vs[0]
			if got.Keyword != tt.keyword || got.Pointer != "" || !strings.Contains(got.Message, tt.msg) {
				t.Errorf("got %+v, want keyword %q and message containing %q", got, tt.keyword, tt.msg)
			}
		})
	}
}

// TestDecodeMatchesEncodingJSON checks the fast decoder gives exactly the
// values encoding/json (with UseNumber) gives, and rejects the same inputs.
func TestDecodeMatchesEncodingJSON(t *testing.T) {
	inputs := []string{
		`{"a":12345678901234567890,"b":-0,"c":1.0,"d":1e400,"e":-1.5E-3,"f":0}`,
		`{"dup":1,"dup":2}`,
		`{"s":"\u00e9\ud83d\ude00\n\t\"\\\/","lone":"\ud800","nul":"\u0000"}`,
		`{"a":[],"b":{},"c":[null,true,false,"",0]}`,
		"{\"a\" :\r\n\t[ 1 , 2 ] }",
		`{"a":1}` + "\n",
		`{"a":1,}`, `{"a":[1,]}`, `{"a":.5}`, `{"a":1.}`, `{"a":+1}`, `{"a":0x1}`,
		`{"a":tru}`, `{"a":nul}`, `{"a" 1}`, `{a:1}`, `{"a":"\u12"}`, `{"a":1}}`, `{"a":1}]`,
		"{\"a\":\"\t\"}", `{"a":Infinity}`, `{"a":-}`, `{"a":1e}`, `{"a":"x"`,
	}
	for _, ad := range realAds(t) {
		inputs = append(inputs, string(ad))
	}
	inputs = append(inputs, string(smallAd(t)))
	for _, in := range inputs {
		var want any
		wantErr := json.Unmarshal([]byte(in), new(json.RawMessage))
		if wantErr == nil {
			d := json.NewDecoder(strings.NewReader(in))
			d.UseNumber()
			if err := d.Decode(&want); err != nil {
				t.Fatal(err)
			}
		}
		got, vs := decodeJSON([]byte(in))
		if (wantErr != nil) != (vs != nil) {
			t.Errorf("%.60s: encoding/json error %v, fast decoder violations %v", in, wantErr, vs)
			continue
		}
		if wantErr == nil && !reflect.DeepEqual(got, want) {
			t.Errorf("%.60s: values differ:\n got %#v\nwant %#v", in, got, want)
		}
		// The fast decoder alone must agree as well (no silent fallback).
		var fast any
		fastErr := decoder.Unmarshal([]byte(in), &fast)
		if (fastErr != nil) != (wantErr != nil) {
			t.Logf("%.60s: sonic error %v, encoding/json error %v (the fallback makes them agree)", in, fastErr, wantErr)
		}
	}
}

func TestDecodeDoesNotAliasInput(t *testing.T) {
	data := []byte(`{"id":"abc"}`)
	v, vs := Decode(data, Limits{})
	if vs != nil {
		t.Fatal(vs)
	}
	copy(data, bytes.Repeat([]byte("x"), len(data)))
	if got := v.(map[string]any)["id"]; got != "abc" {
		t.Fatalf("decoded string changed with the input: %q", got)
	}
}

func TestDefaultLimits(t *testing.T) {
	if got := DefaultLimits(); got != (Limits{MaxBytes: 1 << 20, MaxDepth: 64}) {
		t.Fatalf("DefaultLimits() = %+v", got)
	}
	if got := (Limits{MaxDepth: 3}).withDefaults(); got != (Limits{MaxBytes: 1 << 20, MaxDepth: 3}) {
		t.Fatalf("withDefaults = %+v", got)
	}
}
