package fastschema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"math/big"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/jobtech-dev/datahub/connector-kit/schema"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Validator is a compiled schema with its extraction settings. It is
// immutable and safe for concurrent use.
type Validator struct {
	name            string
	root            *node
	lim             schema.Limits
	key             []string // key pointer tokens; nil with hasKey false
	keyIx           []int    // each token as an array index, or -1
	tomb            []string
	tombIx          []int
	hasKey, hasTomb bool
	seed            maphash.Seed
	runs            sync.Pool
}

// Name returns the name the schema was compiled under.
func (v *Validator) Name() string { return v.name }

// Compile compiles a schema document exactly as connector-kit/schema's
// Compile does (Draft 2020-12 unless the document says otherwise, "format"
// asserted, $refs resolved only to resources, keyed by URL or file path and
// by their own top-level $id) and turns it into a one-pass validator.
//
// A schema the reference refuses is refused here too (an error wrapping
// [schema.ErrInvalidSchema]; the reference's own error says best why). A
// schema using a keyword or feature the fast path does not implement gives
// an [*UnsupportedError] (wrapping [ErrUnsupported]): a draft other than
// 2020-12, $dynamicRef, $recursiveRef, unevaluatedProperties,
// unevaluatedItems, a $ref cycle that does not descend into the value, a
// vocabulary it does not know, [TaxonomyKeyword] without a check in
// opts.Keywords, or more than 64 subschemas applying in place to one value.
// Bad options wrap [ErrInvalidOption].
func Compile(name string, doc []byte, resources map[string][]byte, opts Options) (*Validator, error) {
	v := &Validator{name: name, lim: opts.Limits, seed: maphash.MakeSeed()}
	if v.lim.MaxBytes <= 0 {
		v.lim.MaxBytes = schema.DefaultMaxBytes
	}
	if v.lim.MaxDepth <= 0 {
		v.lim.MaxDepth = schema.DefaultMaxDepth
	}
	var err error
	if v.key, err = pointerTokens("key", opts.Key); err != nil {
		return nil, err
	}
	if v.tomb, err = pointerTokens("tombstone", opts.Tombstone); err != nil {
		return nil, err
	}
	v.hasKey, v.hasTomb = opts.Key != "", opts.Tombstone != ""
	v.keyIx, v.tombIx = indexTokens(v.key), indexTokens(v.tomb)

	keywords := map[string]Keyword{}
	for i, kw := range opts.Keywords {
		if kw.Name == "" || kw.Compile == nil {
			return nil, fmt.Errorf("%w: keyword %d needs a name and a Compile function", ErrInvalidOption, i)
		}
		if _, dup := keywords[kw.Name]; dup {
			return nil, fmt.Errorf("%w: keyword %q given twice", ErrInvalidOption, kw.Name)
		}
		keywords[kw.Name] = kw
	}
	watched := []string{TaxonomyKeyword}
	for k := range keywords {
		if k != TaxonomyKeyword {
			watched = append(watched, k)
		}
	}
	sort.Strings(watched)

	compiled, err := compileReference(name, doc, resources, watched)
	if err != nil {
		return nil, err
	}
	t := &translator{nodes: map[*jsonschema.Schema]*node{}, keywords: keywords}
	if v.root, err = t.node(compiled); err != nil {
		return nil, fmt.Errorf("compile schema %s: %w", name, err)
	}
	if err := t.finish(); err != nil {
		return nil, fmt.Errorf("compile schema %s: %w", name, err)
	}
	v.runs.New = func() any { return &run{v: v} }
	return v, nil
}

// indexTokens reads pointer tokens as array indexes the way schema.Lookup
// does: decimal, no sign, no leading zero; -1 for any other token.
func indexTokens(toks []string) []int {
	ix := make([]int, len(toks))
	for i, t := range toks {
		n, err := strconv.Atoi(t)
		if err != nil || n < 0 || (len(t) > 1 && t[0] == '0') || strings.HasPrefix(t, "+") {
			n = -1
		}
		ix[i] = n
	}
	return ix
}

// refusingLoader refuses every URL that is not one of the resources.
type refusingLoader struct{}

func (refusingLoader) Load(u string) (any, error) {
	return nil, fmt.Errorf("%w: %q", schema.ErrRefNotAllowed, u)
}

// compileReference compiles the document with jsonschema/v6 configured as
// connector-kit/schema configures it, plus a vocabulary that only collects
// the watched custom keywords (it validates nothing).
func compileReference(name string, doc []byte, resources map[string][]byte, watched []string) (*jsonschema.Schema, error) {
	root, err := resourceURL(name)
	if err != nil {
		return nil, fmt.Errorf("compile schema %s: %w: %w", name, schema.ErrInvalidSchema, err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	c.UseLoader(refusingLoader{})
	c.AssertVocabs()
	c.RegisterVocabulary(keywordVocabulary(watched))
	keys := make([]string, 0, len(resources))
	for k := range resources {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := addResource(c, k, resources[k]); err != nil {
			return nil, fmt.Errorf("compile schema %s: resource %s: %w", name, k, err)
		}
	}
	if err := addResource(c, root, doc); err != nil {
		return nil, fmt.Errorf("compile schema %s: %w", name, err)
	}
	compiled, err := c.Compile(root)
	if err != nil {
		return nil, fmt.Errorf("compile schema %s: %w: %s", name, schema.ErrInvalidSchema, strings.TrimPrefix(err.Error(), "jsonschema: "))
	}
	return compiled, nil
}

// addResource registers doc under key and under its top-level $id, as
// connector-kit/schema does.
func addResource(c *jsonschema.Compiler, key string, doc []byte) error {
	u, err := resourceURL(key)
	if err != nil {
		return fmt.Errorf("%w: %w", schema.ErrInvalidSchema, err)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return fmt.Errorf("%w: not JSON: %w", schema.ErrInvalidSchema, err)
	}
	if err := c.AddResource(u, v); err != nil {
		return fmt.Errorf("%w: %s", schema.ErrInvalidSchema, strings.TrimPrefix(err.Error(), "jsonschema: "))
	}
	obj, _ := v.(map[string]any)
	id, _ := obj["$id"].(string)
	if id, _, _ := strings.Cut(id, "#"); id != "" && id != u {
		if pu, err := url.Parse(id); err == nil && pu.IsAbs() {
			if err := c.AddResource(id, v); err != nil {
				return fmt.Errorf("%w: %s", schema.ErrInvalidSchema, strings.TrimPrefix(err.Error(), "jsonschema: "))
			}
		}
	}
	return nil
}

// resourceURL turns a name into the absolute URL jsonschema keys documents
// by, as connector-kit/schema does.
func resourceURL(name string) (string, error) {
	if u, err := url.Parse(name); err == nil && len(u.Scheme) > 1 {
		return strings.TrimSuffix(name, "#"), nil
	}
	abs, err := filepath.Abs(name)
	if err != nil {
		return "", fmt.Errorf("resolve %s: %w", name, err)
	}
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}).String(), nil
}

// keywordExt carries the watched custom keywords of one subschema.
type keywordExt struct{ values map[string]any }

func (*keywordExt) Validate(*jsonschema.ValidatorContext, any) {}

func keywordVocabulary(watched []string) *jsonschema.Vocabulary {
	return &jsonschema.Vocabulary{
		URL: "https://schemas.jobtechdev.se/datahub/vocab/fastschema-keywords",
		Compile: func(_ *jsonschema.CompilerContext, obj map[string]any) (jsonschema.SchemaExt, error) {
			var ext *keywordExt
			for _, k := range watched {
				if v, ok := obj[k]; ok {
					if ext == nil {
						ext = &keywordExt{values: map[string]any{}}
					}
					ext.values[k] = v
				}
			}
			if ext == nil {
				return nil, nil
			}
			return ext, nil
		},
	}
}

// translator turns jsonschema/v6's compiled graph into nodes.
type translator struct {
	nodes    map[*jsonschema.Schema]*node
	all      []*node
	keywords map[string]Keyword
}

func (t *translator) node(s *jsonschema.Schema) (*node, error) {
	if n, ok := t.nodes[s]; ok {
		return n, nil
	}
	n := &node{loc: s.Location, minLen: -1, maxLen: -1, minProps: -1, maxProps: -1,
		minItems: -1, maxItems: -1, minContains: -1, maxContains: -1}
	t.nodes[s] = n
	t.all = append(t.all, n)
	if err := t.fill(n, s); err != nil {
		return nil, err
	}
	return n, nil
}

func (t *translator) nodes1(ss []*jsonschema.Schema) ([]*node, error) {
	if len(ss) == 0 {
		return nil, nil
	}
	out := make([]*node, len(ss))
	for i, s := range ss {
		n, err := t.node(s)
		if err != nil {
			return nil, err
		}
		out[i] = n
	}
	return out, nil
}

func (t *translator) opt(s *jsonschema.Schema) (*node, error) {
	if s == nil {
		return nil, nil
	}
	return t.node(s)
}

func intOr(p *int, def int) int {
	if p == nil {
		return def
	}
	return *p
}

// fill copies one compiled subschema's keywords into n.
func (t *translator) fill(n *node, s *jsonschema.Schema) error {
	unsupported := func(kw, detail string) error {
		return &UnsupportedError{Keyword: kw, Location: s.Location, Detail: detail}
	}
	if s.DraftVersion != 2020 {
		return unsupported("$schema", fmt.Sprintf("draft %d; only 2020-12 is implemented", s.DraftVersion))
	}
	if s.Bool != nil {
		n.never = !*s.Bool
		return nil
	}
	switch {
	case s.RecursiveRef != nil:
		return unsupported("$recursiveRef", "")
	case s.DynamicRef != nil:
		return unsupported("$dynamicRef", "")
	case s.UnevaluatedProperties != nil:
		return unsupported("unevaluatedProperties", "")
	case s.UnevaluatedItems != nil:
		return unsupported("unevaluatedItems", "")
	case s.ContentEncoding != nil || s.ContentMediaType != nil || s.ContentSchema != nil:
		return unsupported("contentEncoding", "content assertion")
	case s.Items != nil || s.AdditionalItems != nil:
		return unsupported("items", "array form of items")
	}
	for _, ext := range s.Extensions {
		ke, ok := ext.(*keywordExt)
		if !ok {
			return unsupported("vocabulary", fmt.Sprintf("extension %T", ext))
		}
		names := make([]string, 0, len(ke.values))
		for k := range ke.values {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, name := range names {
			kw, ok := t.keywords[name]
			if !ok {
				return unsupported(name, "no check configured for this keyword")
			}
			chk, err := kw.Compile(ke.values[name])
			if err != nil {
				var ue *UnsupportedError
				if errors.As(err, &ue) {
					ue.Location = s.Location
					return ue
				}
				if errors.Is(err, ErrUnsupported) {
					return unsupported(name, err.Error())
				}
				return fmt.Errorf("%w: %s at %s: %w", schema.ErrInvalidSchema, name, s.Location, err)
			}
			if chk == nil {
				return fmt.Errorf("%w: keyword %s compiled to no check", ErrInvalidOption, name)
			}
			n.checks = append(n.checks, chk)
			n.kinds |= tString
		}
	}
	if s.Types != nil {
		for _, ty := range s.Types.ToStrings() {
			switch ty {
			case "null":
				n.types |= tNull
			case "boolean":
				n.types |= tBool
			case "number":
				n.types |= tNumber
			case "integer":
				n.types |= tInteger
				n.safeInt = true
			case "string":
				n.types |= tString
			case "array":
				n.types |= tArray
			case "object":
				n.types |= tObject
			}
		}
	}
	if s.Const != nil {
		cv, err := newCval(*s.Const)
		if err != nil {
			return unsupported("const", err.Error())
		}
		n.hasConst, n.cnst = true, cv
	}
	if s.Enum != nil {
		es, err := newEnumSet(s.Enum.Values)
		if err != nil {
			return unsupported("enum", err.Error())
		}
		n.enum = es
	}
	if f := s.Format; f != nil {
		validate := f.Validate
		n.format = func(str string) bool { return validate(str) == nil }
		n.kinds |= tString
	}
	var err error
	if n.ref, err = t.opt(s.Ref); err != nil {
		return err
	}
	if n.allOf, err = t.nodes1(s.AllOf); err != nil {
		return err
	}
	if n.anyOf, err = t.nodes1(s.AnyOf); err != nil {
		return err
	}
	if n.oneOf, err = t.nodes1(s.OneOf); err != nil {
		return err
	}
	if n.not, err = t.opt(s.Not); err != nil {
		return err
	}
	if n.ifN, err = t.opt(s.If); err != nil {
		return err
	}
	if n.thenN, err = t.opt(s.Then); err != nil {
		return err
	}
	if n.elseN, err = t.opt(s.Else); err != nil {
		return err
	}

	// strings
	n.minLen, n.maxLen = intOr(s.MinLength, -1), intOr(s.MaxLength, -1)
	if s.Pattern != nil {
		n.pattern = newMatcher(s.Pattern)
	}
	if n.minLen >= 0 || n.maxLen >= 0 || n.pattern.ok() {
		n.kinds |= tString
	}

	// numbers
	for _, b := range []struct {
		op uint8
		r  *big.Rat
	}{{opMin, s.Minimum}, {opMax, s.Maximum}, {opXMin, s.ExclusiveMinimum}, {opXMax, s.ExclusiveMaximum}, {opMult, s.MultipleOf}} {
		if b.r != nil {
			n.bounds = append(n.bounds, bound{op: b.op, d: decFromRat(b.r), rat: b.r})
		}
	}
	if len(n.bounds) > 0 {
		n.kinds |= tNumber
	}

	// objects
	if err := t.fillObject(n, s); err != nil {
		return err
	}

	// arrays
	if n.prefix, err = t.nodes1(s.PrefixItems); err != nil {
		return err
	}
	if s.Items2020 != nil {
		n.hasItems = true
		if n.items, err = t.node(s.Items2020); err != nil {
			return err
		}
	}
	n.minItems, n.maxItems = intOr(s.MinItems, -1), intOr(s.MaxItems, -1)
	n.unique = s.UniqueItems
	if n.contains, err = t.opt(s.Contains); err != nil {
		return err
	}
	n.minContains, n.maxContains = intOr(s.MinContains, -1), intOr(s.MaxContains, -1)
	if len(n.prefix) > 0 || n.hasItems || n.minItems >= 0 || n.maxItems >= 0 || n.unique || n.contains != nil {
		n.kinds |= tArray
	}
	return nil
}

func (t *translator) fillObject(n *node, s *jsonschema.Schema) error {
	n.names = map[string]int32{}
	name := func(p string) int32 {
		if i, ok := n.names[p]; ok {
			return i
		}
		i := int32(len(n.names))
		n.names[p] = i
		n.nameProps = append(n.nameProps, nil)
		n.isProp = append(n.isProp, false)
		return i
	}
	for _, p := range sortedKeys(s.Properties) {
		c, err := t.node(s.Properties[p])
		if err != nil {
			return err
		}
		i := name(p)
		n.isProp[i] = true
		n.nameProps[i] = c
	}
	for _, p := range s.Required {
		n.required = append(n.required, name(p))
	}
	for _, p := range sortedKeys(s.DependentRequired) {
		d := depRequired{name: name(p)}
		for _, q := range s.DependentRequired[p] {
			d.req = append(d.req, name(q))
		}
		n.depRequired = append(n.depRequired, d)
	}
	for _, p := range sortedKeys(s.DependentSchemas) {
		c, err := t.node(s.DependentSchemas[p])
		if err != nil {
			return err
		}
		n.depSchemas = append(n.depSchemas, depSchema{name: name(p), n: c})
	}
	for _, p := range sortedKeys(s.Dependencies) {
		switch dep := s.Dependencies[p].(type) {
		case []string:
			d := depRequired{name: name(p)}
			for _, q := range dep {
				d.req = append(d.req, name(q))
			}
			n.depRequired = append(n.depRequired, d)
		case *jsonschema.Schema:
			c, err := t.node(dep)
			if err != nil {
				return err
			}
			n.depSchemas = append(n.depSchemas, depSchema{name: name(p), n: c})
		}
	}
	if len(s.PatternProperties) > 0 {
		res := make([]jsonschema.Regexp, 0, len(s.PatternProperties))
		for re := range s.PatternProperties {
			res = append(res, re)
		}
		slices.SortFunc(res, func(a, b jsonschema.Regexp) int { return strings.Compare(a.String(), b.String()) })
		for _, re := range res {
			c, err := t.node(s.PatternProperties[re])
			if err != nil {
				return err
			}
			n.patterns = append(n.patterns, patternProp{re: newMatcher(re), n: c})
		}
	}
	switch a := s.AdditionalProperties.(type) {
	case bool:
		if !a {
			n.additional = &node{loc: s.Location + "/additionalProperties", never: true}
			t.all = append(t.all, n.additional)
		}
	case *jsonschema.Schema:
		c, err := t.node(a)
		if err != nil {
			return err
		}
		n.additional = c
	}
	n.hasAdditional = n.additional != nil
	var err error
	if n.propertyNames, err = t.opt(s.PropertyNames); err != nil {
		return err
	}
	n.minProps, n.maxProps = intOr(s.MinProperties, -1), intOr(s.MaxProperties, -1)
	n.nwords = (len(n.names) + 63) / 64
	if len(n.names) > 0 || len(n.patterns) > 0 || n.hasAdditional || n.propertyNames != nil || n.minProps >= 0 || n.maxProps >= 0 {
		n.kinds |= tObject
	}
	if len(n.names) == 0 {
		n.names = nil
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// newMatcher wraps a compiled pattern. Go's regexp (the reference's
// engine) gets the byte form and, when the pattern allows, an automaton for
// ASCII text.
func newMatcher(re jsonschema.Regexp) matcher {
	m := matcher{re: re}
	if b, ok := re.(*regexp.Regexp); ok {
		m.match = b.Match
		m.dfa = newDFA(b.String())
	}
	return m
}

// matches runs the pattern on s (text of a string value).
func (m matcher) matches(s []byte) bool {
	if m.dfa != nil {
		if yes, ok := m.dfa.match(s); ok {
			return yes
		}
	}
	if m.match != nil {
		return m.match(s)
	}
	return m.re.MatchString(string(s))
}

// newCval prepares a const or enum value.
func newCval(v any) (cval, error) {
	switch v := v.(type) {
	case nil:
		return cval{kind: tNull}, nil
	case bool:
		return cval{kind: tBool, b: v}, nil
	case string:
		return cval{kind: tString, s: v}, nil
	case json.Number:
		end, d, _, ok := scanNumber([]byte(v), 0)
		if !ok || end != len(v) {
			return cval{}, fmt.Errorf("number %q", v)
		}
		c := cval{kind: tNumber, n: d}
		if !d.exact {
			c.rat = ratOf([]byte(v))
		}
		return c, nil
	case []any:
		return cval{kind: tArray, v: v}, nil
	case map[string]any:
		return cval{kind: tObject, v: v}, nil
	}
	return cval{}, fmt.Errorf("value of type %T", v)
}

func newEnumSet(vals []any) (*enumSet, error) {
	es := &enumSet{}
	for _, v := range vals {
		c, err := newCval(v)
		if err != nil {
			return nil, err
		}
		es.kinds |= c.kind
		switch c.kind {
		case tNull:
			es.null = true
		case tBool:
			if c.b {
				es.bools[1] = true
			} else {
				es.bools[0] = true
			}
		case tString:
			if es.strs == nil {
				es.strs = map[string]struct{}{}
			}
			es.strs[c.s] = struct{}{}
		case tNumber:
			es.nums = append(es.nums, c)
		default:
			es.containers = append(es.containers, c.v)
		}
	}
	return es, nil
}
