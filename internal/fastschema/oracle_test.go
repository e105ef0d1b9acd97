package fastschema

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/jobtech-dev/datahub/connector-kit/schema"
	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/message"
)

// The oracle is the reference: connector-kit/schema's Decode and compiled
// schema. Two things the fast path implements may not be in the reference
// this branch was built on (issue 8 item 10 is landing in parallel): the
// I-JSON decode rules and the safe-integer bound on "type": "integer". The
// oracle probes the reference once; whatever it lacks is supplied by slow,
// obviously right test code written from that issue's rules (ijsonIssue
// below, and a jsonschema/v6 vocabulary like the reference's). Once the
// reference has them, the probes pass and the oracle is the reference alone.
// The taxonomy keyword is the reference's own vocabulary: when a test uses
// it, the oracle compiles the schema with the same lookup and reaction to
// deprecated concepts as the fast path's keyword.

var (
	probeOnce                    sync.Once
	refStrictDecode, refSafeInts bool
)

func probeReference() {
	probeOnce.Do(func() {
		_, vs := schema.Decode([]byte(`{"a":1,"a":2}`), schema.Limits{})
		refStrictDecode = vs != nil
		s, err := schema.Compile("probe.schema.json", []byte(`{"properties":{"i":{"type":"integer"}}}`), nil)
		if err != nil {
			panic(err)
		}
		_, vs = s.Check([]byte(`{"i":1e20}`), schema.Limits{})
		refSafeInts = vs != nil
	})
}

// taxonomySpec is the taxonomy keyword's behaviour, for both validators.
type taxonomySpec struct {
	lookup       schema.TaxonomyLookup
	onDeprecated Outcome
}

// keyword is the fast path's taxonomy keyword for the spec.
func (t *taxonomySpec) keyword() Keyword { return Taxonomy(t.lookup, t.onDeprecated) }

// options are the reference's compile options for the spec.
func (t *taxonomySpec) options() []schema.Option {
	if t == nil {
		return nil
	}
	r := map[Outcome]schema.DeprecatedReaction{Pass: schema.AcceptDeprecated, Warn: schema.WarnDeprecated, Fail: schema.RejectDeprecated}[t.onDeprecated]
	return []schema.Option{schema.WithTaxonomy(t.lookup), schema.WithDeprecated(r)}
}

// oracle judges records as the reference does.
type oracle struct {
	kit       *schema.Schema
	vocab     *jsonschema.Schema // nil: the kit alone decides the schema stage
	lim       schema.Limits
	key, tomb string
}

// verdict is the oracle's answer.
type verdict struct {
	valid        bool
	stage        Stage
	keyword, ptr string
	key          string
	keyOK, tomb  bool
	warned       bool // the reference warns (a deprecated taxonomy concept)
	why          string
}

func newOracle(tb testing.TB, name string, doc []byte, res map[string][]byte, opts Options, tax *taxonomySpec) *oracle {
	tb.Helper()
	o, err := tryOracle(name, doc, res, opts, tax)
	if err != nil {
		tb.Fatal(err)
	}
	return o
}

func tryOracle(name string, doc []byte, res map[string][]byte, opts Options, tax *taxonomySpec) (*oracle, error) {
	probeReference()
	kit, err := schema.Compile(name, doc, res, tax.options()...)
	if err != nil {
		return nil, err
	}
	o := &oracle{kit: kit, lim: opts.Limits, key: opts.Key, tomb: opts.Tombstone}
	if !refSafeInts {
		if tax != nil {
			return nil, errors.New("oracle: the taxonomy keyword needs the reference's safe-integer check")
		}
		if o.vocab, err = compileWithVocabularies(name, doc, res); err != nil {
			return nil, fmt.Errorf("oracle: %w", err)
		}
	}
	return o, nil
}

func (o *oracle) check(data []byte) verdict {
	v, vs := schema.Decode(data, o.lim)
	if vs != nil {
		return verdict{stage: StageDecode, keyword: vs[0].Keyword, ptr: vs[0].Pointer, why: vs[0].Message}
	}
	if !refStrictDecode {
		if f := ijsonIssue(data); f != nil {
			return verdict{stage: StageDecode, keyword: f.Keyword, ptr: f.Pointer, why: "I-JSON (oracle)"}
		}
	}
	if o.vocab != nil {
		if err := o.vocab.Validate(v); err != nil {
			return verdict{stage: StageSchema, why: err.Error()}
		}
	} else if vs := o.kit.Validate(v); vs != nil {
		return verdict{stage: StageSchema, why: fmt.Sprint(vs)}
	}
	out := verdict{valid: true, warned: o.kit.Warnings(v) != nil}
	if o.key != "" {
		out.key, out.keyOK = keyOfDecoded(v, o.key)
	}
	if o.tomb != "" {
		x, ok := schema.Lookup(v, o.tomb)
		out.tomb = ok && x == true
	}
	return out
}

// keyOfDecoded is the registry's KeyOf (hub/internal/registry, which this
// package cannot import), on a decoded record.
func keyOfDecoded(v any, ptr string) (string, bool) {
	x, ok := schema.Lookup(v, ptr)
	if !ok {
		return "", false
	}
	switch k := x.(type) {
	case string:
		if k == "" || len(wire.EncodeKey(k)) > wire.MaxKeyToken {
			return "", false
		}
		return k, true
	case json.Number:
		if k == "" || strings.ContainsAny(string(k), ".eE") {
			return "", false
		}
		return string(k), true
	}
	return "", false
}

// disagreement compares the fast path with the oracle on one record and
// describes any difference ("" when they agree).
func disagreement(fast *Validator, o *oracle, data []byte) string {
	got := fast.Validate(data)
	want := o.check(data)
	switch {
	case got.Valid != want.valid:
		return fmt.Sprintf("fast valid=%v (%+v), reference valid=%v (%s %s %q: %s)", got.Valid, got.Failure, want.valid, stageName(want.stage), want.keyword, want.ptr, want.why)
	case !want.valid && got.Failure.Stage != want.stage:
		return fmt.Sprintf("fast failed at %+v, reference at %s %s %q: %s", got.Failure, stageName(want.stage), want.keyword, want.ptr, want.why)
	case !want.valid && want.stage == StageDecode && (got.Failure.Keyword != want.keyword || got.Failure.Pointer != want.ptr):
		return fmt.Sprintf("fast decode failure %s %q, reference %s %q: %s", got.Failure.Keyword, got.Failure.Pointer, want.keyword, want.ptr, want.why)
	case want.valid && want.warned && !got.Warned:
		// The fast path may warn more (a branch that did not decide), never less.
		return "the reference warns about a deprecated concept; the fast path did not set Warned"
	case want.valid && (got.Key != want.key || got.KeyOK != want.keyOK || got.Tombstone != want.tomb):
		return fmt.Sprintf("fast key %q ok=%v tombstone=%v, reference key %q ok=%v tombstone=%v", got.Key, got.KeyOK, got.Tombstone, want.key, want.keyOK, want.tomb)
	}
	return ""
}

func stageName(s Stage) string {
	return [...]string{"none", "decode", "schema"}[s]
}

// compileWithVocabularies compiles the schema as connector-kit/schema does,
// with the safe-integer vocabulary of issue 8 item 10.
func compileWithVocabularies(name string, doc []byte, res map[string][]byte) (*jsonschema.Schema, error) {
	root, err := resourceURL(name)
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	c.UseLoader(refusingLoader{})
	c.AssertVocabs()
	c.RegisterVocabulary(safeIntegerVocab())
	keys := sortedKeys(res)
	for _, k := range keys {
		if err := addResource(c, k, res[k]); err != nil {
			return nil, err
		}
	}
	if err := addResource(c, root, doc); err != nil {
		return nil, err
	}
	return c.Compile(root)
}

// safeIntegerVocab: where "type" lists integer, an integral number beyond
// ±(2^53−1) fails, however it is written (issue 8 item 10's rule).
func safeIntegerVocab() *jsonschema.Vocabulary {
	return &jsonschema.Vocabulary{
		URL: "https://example.test/vocab/safe-integer",
		Compile: func(_ *jsonschema.CompilerContext, obj map[string]any) (jsonschema.SchemaExt, error) {
			says := false
			switch t := obj["type"].(type) {
			case string:
				says = t == "integer"
			case []any:
				for _, x := range t {
					says = says || x == "integer"
				}
			}
			if !says {
				return nil, nil
			}
			return safeIntExt{}, nil
		},
	}
}

type safeIntExt struct{}

var bigMaxSafe = big.NewInt(1<<53 - 1)

func (safeIntExt) Validate(ctx *jsonschema.ValidatorContext, v any) {
	n, ok := v.(json.Number)
	if !ok {
		return
	}
	r, ok := new(big.Rat).SetString(string(n))
	if ok && r.IsInt() && new(big.Int).Abs(r.Num()).Cmp(bigMaxSafe) > 0 {
		ctx.AddError(&testErr{"type", "integer beyond 2^53-1"})
	}
}

type testErr struct{ kw, msg string }

func (e *testErr) KeywordPath() []string                   { return []string{e.kw} }
func (e *testErr) LocalizedString(*message.Printer) string { return e.msg }

// ijsonIssue applies issue 8 item 10's decode rules to well-formed JSON,
// slowly and plainly: the first duplicate member name, number outside
// float64 (or so small it reads as 0), integer literal beyond ±(2^53−1), or
// lone surrogate, in document order, with its pointer (a member name's
// surrogate points at its object).
func ijsonIssue(data []byte) *Failure {
	w := &ijsonWalker{d: data}
	w.ws()
	w.value()
	return w.issue
}

type ijsonWalker struct {
	d     []byte
	i     int
	path  []string
	issue *Failure
}

func (w *ijsonWalker) ws() {
	for w.i < len(w.d) && strings.IndexByte(" \t\r\n", w.d[w.i]) >= 0 {
		w.i++
	}
}

func (w *ijsonWalker) report(kw string, ptr []string) {
	if w.issue != nil {
		return
	}
	var b strings.Builder
	for _, t := range ptr {
		b.WriteString("/" + strings.ReplaceAll(strings.ReplaceAll(t, "~", "~0"), "/", "~1"))
	}
	w.issue = &Failure{Stage: StageDecode, Keyword: kw, Pointer: b.String()}
}

// str reads a string, reporting lone surrogates at ptr, and returns it.
func (w *ijsonWalker) str(ptr []string) string {
	start := w.i
	w.i++
	for w.d[w.i] != '"' {
		if w.d[w.i] != '\\' {
			w.i++
			continue
		}
		if w.d[w.i+1] != 'u' {
			w.i += 2
			continue
		}
		r, _ := strconv.ParseUint(string(w.d[w.i+2:w.i+6]), 16, 32)
		w.i += 6
		switch {
		case r >= 0xD800 && r <= 0xDBFF:
			if w.i+6 <= len(w.d) && w.d[w.i] == '\\' && w.d[w.i+1] == 'u' {
				lo, err := strconv.ParseUint(string(w.d[w.i+2:w.i+6]), 16, 32)
				if err == nil && lo >= 0xDC00 && lo <= 0xDFFF {
					w.i += 6
					continue
				}
			}
			w.report(KeywordSurrogate, ptr)
		case r >= 0xDC00 && r <= 0xDFFF:
			w.report(KeywordSurrogate, ptr)
		}
	}
	w.i++
	var s string
	_ = json.Unmarshal(w.d[start:w.i], &s)
	return s
}

func (w *ijsonWalker) value() {
	switch c := w.d[w.i]; {
	case c == '{':
		w.i++
		seen := map[string]bool{}
		for {
			w.ws()
			if w.d[w.i] == '}' {
				w.i++
				return
			}
			if w.d[w.i] == ',' {
				w.i++
				w.ws()
			}
			name := w.str(w.path)
			w.path = append(w.path, name)
			if seen[name] {
				w.report(KeywordDuplicateKey, w.path)
			}
			seen[name] = true
			w.ws()
			w.i++ // :
			w.ws()
			w.value()
			w.path = w.path[:len(w.path)-1]
		}
	case c == '[':
		w.i++
		for n := 0; ; n++ {
			w.ws()
			if w.d[w.i] == ']' {
				w.i++
				return
			}
			if w.d[w.i] == ',' {
				w.i++
				w.ws()
			}
			w.path = append(w.path, strconv.Itoa(n))
			w.value()
			w.path = w.path[:len(w.path)-1]
		}
	case c == '"':
		w.str(w.path)
	case c == 't' || c == 'n':
		w.i += 4
	case c == 'f':
		w.i += 5
	default:
		start := w.i
		for w.i < len(w.d) && strings.IndexByte("+-0123456789.eE", w.d[w.i]) >= 0 {
			w.i++
		}
		tok := string(w.d[start:w.i])
		if !strings.ContainsAny(tok, ".eE") {
			n, ok := new(big.Int).SetString(tok, 10)
			if ok && new(big.Int).Abs(n).Cmp(bigMaxSafe) > 0 {
				w.report(KeywordNumber, w.path)
			}
			return
		}
		f, err := strconv.ParseFloat(tok, 64)
		mant, _, _ := strings.Cut(strings.ToLower(tok), "e")
		if err != nil || math.IsInf(f, 0) || f == 0 && strings.ContainsAny(mant, "123456789") {
			w.report(KeywordNumber, w.path)
		}
	}
}
