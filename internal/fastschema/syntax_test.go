package fastschema

import (
	"strings"
	"testing"
)

// syntaxEdges are texts where JSON decoders are known to differ: the fast
// path must accept exactly what the reference's decoder (sonic, then
// encoding/json) accepts.
var syntaxEdges = []string{
	`{"a":01}`, `{"a":.5}`, `{"a":1.}`, `{"a":+1}`, `{"a":1e}`, `{"a":1e+}`, `{"a":-}`, `{"a":-01}`, `{"a":Infinity}`,
	`{"a":NaN}`, `{"a":-Infinity}`, `{"a":0x10}`, `{"a":1_000}`, `{"a":1e007}`, `{"a":-0.0e-0}`, `{"a":0e0}`, `{"a":1E1}`,
	`{"a":"\u00"}`, `{"a":"\U0041"}`, `{"a":"\u00G1"}`, `{"a":tru}`, `{"a":nulll}`, `{"a":truex}`, `{"a":true1}`,
	`{"a" :1}`, `{'a':1}`, "{\"a\":1}\x00", "\x00{\"a\":1}", `{"a":1}//`, `{"a":1}/**/`, `{"a":[1,]}`, `{"a":1,,"b":2}`,
	`{,}`, `{"a"}`, `{"a":}`, `{"a":1 "b":2}`, "{\"a\":1\f}", "{\"a\":1\v}", "{\"a\":1\u00a0}", "\ufeff{\"a\":1}",
	`{"a":"\/"}`, `{"a":"\'"}`, `{"a":"\0"}`, "{\"a\":\"\x7f\"}", "{\"a\":\"\u2028\u2029\"}", `{"a":"\a"}`,
	`{"a":[}`, `{"a":]}`, `{"a":{]}`, `{"a":[1}`, `{"a":1]`, `{"a":1}}`, `{"a":1}]`, `{}{}`, `{} {}`, `{"a":1}` + "\n\n",
	`{"a":"x"`, `{"a`, `{`, `}`, `{"":1}`, `{"\"":1}`, `{"a\u0000":1}`, `{"a":1e-0}`, `{"a":-0}`, `{"a":[[]]}`,
	`{"a":"\uD834\uDD1E"}`, `{"a":"\uDD1E\uD834"}`, `{"a":"\ud834"}`, `{"a":"\ud834\"}`, `{"a":"\ud834\u"}`,
	`{"a":"\ud834\uzzzz"}`, `{"a":"\ud834x"}`, `{"a":1.0e+308}`, `{"a":1.8e308}`, `{"a":-1.8e308}`, `{"a":2.5e-324}`,
	`{"a":2.4e-324}`, `{"a":0.0000000000000000000000000000000000000000000000001e-280}`, "{\"a\":1}\r\n", "\t{\"a\":1}",
	`{"a":"` + "\xc3\xa9" + `"}`, `{"a":true,"a":false}`, `{"a":{"b":1},"a":{"b":1}}`, `{"a":1,"b":2,"a":3}`,
	`{"a\u0000b":1,"a\u0000b":2}`, `{"\u00e9":1,"é":2}`, `{"\uD834\uDD1E":1,"𝄞":2}`,
	// not UTF-8: in a value, in a name, outside strings, cut before a
	// quote, overlong, a surrogate, beyond U+10FFFF, a stray continuation
	"{\"a\":\"\xff\"}", "{\"\xff\":1}", "{\"a\":1\xff}", "{\"a\":\"\xc3\"}", "{\"a\":\"\xe2\x82\"}",
	"{\"a\":\"\xc0\xaf\"}", "{\"a\":\"\xed\xa0\x80\"}", "{\"a\":\"\xf4\x90\x80\x80\"}", "{\"a\":\"\x80\"}",
	"{\"a\":\"ok\",\"b\":\"\xe9\"}", "\xef\xbb{\"a\":1}", "{\"a\":[\"x\",\"\xc3\xa9\xc3\"]}",
	"{\"a\":\"" + strings.Repeat("é", 20) + "\xc3\"}", "{\"a\":\"" + strings.Repeat("abcdefgh", 4) + "\xff" + strings.Repeat("x", 9) + "\"}",
}

// TestSyntaxEdges holds the fast path to the reference on them, under a
// schema that accepts any object, and under the job-ad schema.
func TestSyntaxEdges(t *testing.T) {
	t.Parallel()
	for _, c := range []dcase{
		{name: "any object", doc: []byte(`{"type":"object"}`), opts: Options{Key: "/a"}},
		{name: "jobads", file: jobAdSchema, opts: jobAdOptions(jobAdTaxonomy(t).lookup), tax: jobAdTaxonomy(t)},
	} {
		fast, o := c.compile(t)
		var recs [][]byte
		for _, s := range syntaxEdges {
			recs = append(recs, []byte(s))
		}
		agree(t, fast, o, recs)
	}
}
