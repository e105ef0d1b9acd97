package fastschema

import (
	"bytes"
	"math/big"
	"unicode/utf8"

	"github.com/jobtech-dev/datahub/connector-kit/schema"
)

// Evaluation. A value is evaluated against a list of kids: subschemas that
// apply to it, each with the node (ent) whose result its own result feeds.
// Each kid is expanded into its plan's members (ents), so every subschema
// that applies to the value in place is evaluated in the same pass; the
// value's children get the kids their parents' keywords give them. A must
// ent is one whose failure fails the record (reached from the root through
// properties, items, $ref and allOf only): it stops the pass at once. Other
// ents (under anyOf, oneOf, not, if, ...) record their result, which combine
// folds back up when the value ends.

// ent is one node being evaluated on the current value.
type ent struct {
	n     *node
	seen  int32 // offset of the member-name presence bits in run.words; -1 none
	count int32 // items matching contains
	must  bool
	ok    bool
}

// kid is a subschema a parent value's keyword applies to the current value.
type kid struct {
	n        *node
	owner    int32 // ent whose result a failure falsifies; -1 none
	base     int32 // the kid's plan members start here in run.ents
	must     bool
	ok       bool
	contains bool // a contains subschema: a success counts, a failure does not falsify
}

// ukey is a member name no schema table knows, kept for duplicate checks:
// data[off:off+n], or arena[off:off+n] when it had escapes.
type ukey struct {
	off, n int32
	arena  bool
}

type span struct{ start, end int32 }

// pathTok is one step of the pointer to the current value (classify mode).
type pathTok struct {
	key   []byte
	idx   int
	isKey bool
}

// why a pass stopped.
type why uint8

const (
	whyNone why = iota
	whySyntax
	whyDepth
	whyDecode // a decode rule (duplicate, number, surrogate)
	whySchema
)

// run is the state of one pass. Runs are pooled per Validator; every slice
// is a stack reused from record to record.
type run struct {
	v        *Validator
	lim      schema.Limits // of this record
	data     []byte
	pos      int
	depth    int
	ents     []ent
	kids     []kid
	words    []uint64
	sbuf     []byte
	kbuf     []byte
	arena    []byte
	ukeys    []ukey
	slots    []int32
	spans    []span
	hashes   []spanHash
	kcur     int // key pointer tokens matched by the current value's path; -1 off it
	tcur     int
	keyAt    int
	tomb     bool
	warned   bool
	why      why
	classify bool
	issue    *Failure
	path     []pathTok
}

func (r *run) reset(data []byte) {
	r.data, r.pos, r.depth = data, 0, 0
	r.ents, r.kids, r.words = r.ents[:0], r.kids[:0], r.words[:0]
	r.arena, r.ukeys, r.slots, r.spans = r.arena[:0], r.ukeys[:0], r.slots[:0], r.spans[:0]
	r.keyAt, r.tomb, r.warned, r.why = -1, false, false, whyNone
	r.classify, r.issue, r.path = false, nil, r.path[:0]
	r.kcur, r.tcur = -1, -1
	if r.v.hasKey {
		r.kcur = 0
	}
	if r.v.hasTomb {
		r.tcur = 0
	}
}

// Validate checks one record: the decode checks of the reference, the
// schema, and the key and tombstone fields, with the limits given at
// compile time. It allocates nothing for a valid record beyond the key
// string.
func (v *Validator) Validate(data []byte) Result { return v.validate(data, v.lim) }

// ValidateLimits is Validate with other limits than those given at compile
// time (zero fields mean the defaults, as for the reference's
// [schema.Decode]), for a caller whose limits are configured apart from
// its schemas.
func (v *Validator) ValidateLimits(data []byte, lim schema.Limits) Result {
	if lim.MaxBytes <= 0 {
		lim.MaxBytes = schema.DefaultMaxBytes
	}
	if lim.MaxDepth <= 0 {
		lim.MaxDepth = schema.DefaultMaxDepth
	}
	return v.validate(data, lim)
}

func (v *Validator) validate(data []byte, lim schema.Limits) Result {
	if len(data) > lim.MaxBytes {
		return Result{Failure: Failure{Stage: StageDecode, Keyword: KeywordMaxBytes}}
	}
	if !utf8.Valid(data) {
		return Result{Failure: Failure{Stage: StageDecode, Keyword: KeywordUTF8}}
	}
	r := v.runs.Get().(*run)
	r.lim = lim
	r.reset(data)
	var res Result
	if r.record() {
		res.Valid, res.Tombstone, res.Warned = true, r.tomb, r.warned
		if v.hasKey {
			res.Key, res.KeyOK = r.keyOf()
		}
	} else {
		res.Failure = r.classifyRecord()
	}
	r.data = nil
	v.runs.Put(r)
	return res
}

// record evaluates the whole record against the root schema.
func (r *run) record() bool {
	r.ws()
	if r.pos >= len(r.data) || r.data[r.pos] != '{' {
		r.why = whySyntax // or not an object: classify says which
		return false
	}
	r.kids = append(r.kids, kid{n: r.v.root, must: true, owner: -1})
	if !r.value(0, 1) {
		return false
	}
	r.ws()
	if r.pos != len(r.data) {
		return r.syntax()
	}
	return true
}

func (r *run) ws() {
	for r.pos < len(r.data) && isSpace[r.data[r.pos]] {
		r.pos++
	}
}

func (r *run) syntax() bool {
	r.why = whySyntax
	return false
}

func (r *run) schemaFail() bool {
	r.why = whySchema
	return false
}

// decodeIssue handles a decode rule broken at the current value (or, for a
// member name, its object): the pass stops, except when classifying, where
// the first one is kept with its pointer and the scan goes on (a syntax
// error later wins, as in the reference).
func (r *run) decodeIssue(keyword string) bool {
	if !r.classify {
		r.why = whyDecode
		return false
	}
	if r.issue == nil {
		r.issue = &Failure{Stage: StageDecode, Keyword: keyword, Pointer: r.pointer()}
	}
	return true
}

// fail records that ent i failed on the current value.
func (r *run) fail(i int) bool {
	if r.ents[i].must {
		return r.schemaFail()
	}
	r.ents[i].ok = false
	return true
}

// value evaluates the value at r.pos (not whitespace) against kids[k0:k1]
// and leaves r.pos after it; it sets each kid's ok. false stops the pass.
func (r *run) value(k0, k1 int) bool {
	if r.pos >= len(r.data) {
		return r.syntax()
	}
	if r.kcur >= 0 && r.kcur == len(r.v.key) {
		r.keyAt = r.pos
	}
	if r.tcur >= 0 && r.tcur == len(r.v.tomb) {
		r.tomb = bytes.HasPrefix(r.data[r.pos:], litTrue)
	}
	if k1 == k0+1 {
		if p := r.kids[k0].n.plan; len(p.members) == 1 && !p.needsCombine {
			if c := r.data[r.pos]; c != '{' && c != '[' {
				return r.scalar1(k0)
			}
		}
	}
	e0, w0 := len(r.ents), len(r.words)
	for k := k0; k < k1; k++ {
		kd := &r.kids[k]
		kd.base = int32(len(r.ents))
		for i := range kd.n.plan.members {
			m := &kd.n.plan.members[i]
			r.ents = append(r.ents, ent{n: m.n, must: kd.must && m.must, ok: true, seen: -1})
		}
	}
	var ok bool
	switch c := r.data[r.pos]; {
	case c == '{':
		ok = r.object(e0, k0, k1)
	case c == '[':
		ok = r.array(e0, k0, k1)
	case c == '"':
		ok = r.str(e0)
	case c == 't' || c == 'f' || c == 'n':
		ok = r.literal(e0)
	case c == '-' || c >= '0' && c <= '9':
		ok = r.number(e0)
	default:
		return r.syntax()
	}
	if !ok {
		return false
	}
	for k := k0; k < k1; k++ {
		if !r.combine(k) {
			return false
		}
	}
	r.ents, r.words = r.ents[:e0], r.words[:w0]
	return true
}

// scalar1 evaluates a scalar against one kid whose plan is its node alone
// (the common case: a leaf under properties or items), without ents.
func (r *run) scalar1(k int) bool {
	n := r.kids[k].n
	var ok bool
	switch c := r.data[r.pos]; {
	case c == '"':
		start := r.pos + 1
		end, esc, sok := r.scanStr(false)
		if !sok {
			return false
		}
		switch {
		case n.never || n.types != 0 && n.types&tString == 0:
			ok = false
		case !n.readsText:
			ok = true
		default:
			s := r.data[start:end]
			if esc {
				r.sbuf = unescape(r.sbuf[:0], s)
				s = r.sbuf
			}
			ok = r.strOK(n, s)
		}
	case c == 't' || c == 'f' || c == 'n':
		kind, b, lok := r.scanLiteral()
		if !lok {
			return false
		}
		ok = litOK(n, kind, b)
	case c == '-' || c >= '0' && c <= '9':
		d, tok, nok := r.scanNum()
		if !nok {
			return false
		}
		var rat *big.Rat
		ok = numOK(n, d, tok, &rat)
	default:
		return r.syntax()
	}
	kd := &r.kids[k]
	kd.ok = ok
	if !ok && kd.must {
		return r.schemaFail()
	}
	return true
}

// combine folds a kid's plan members into the kid's result.
func (r *run) combine(k int) bool {
	kd := &r.kids[k]
	p := kd.n.plan
	ents := r.ents[kd.base : int(kd.base)+len(p.members)]
	if !p.needsCombine {
		ok := true
		for i := range ents {
			if !ents[i].ok {
				ok = false
				break
			}
		}
		kd.ok = ok
	} else {
		for i := len(p.members) - 1; i >= 0; i-- {
			m := &p.members[i]
			e := &ents[i]
			ok := e.ok
			if ok && m.ref >= 0 {
				ok = ents[m.ref].ok
			}
			for _, a := range m.all {
				ok = ok && ents[a].ok
			}
			if ok && len(m.any) > 0 {
				ok = false
				for _, a := range m.any {
					if ents[a].ok {
						ok = true
						break
					}
				}
			}
			if ok && len(m.one) > 0 {
				c := 0
				for _, a := range m.one {
					if ents[a].ok {
						c++
					}
				}
				ok = c == 1
			}
			if ok && m.not >= 0 {
				ok = !ents[m.not].ok
			}
			if ok && m.ifI >= 0 {
				if ents[m.ifI].ok {
					if m.then >= 0 {
						ok = ents[m.then].ok
					}
				} else if m.els >= 0 {
					ok = ents[m.els].ok
				}
			}
			if ok && e.seen >= 0 {
				for _, d := range m.deps {
					if r.has(e.seen, d.name) && !ents[d.at].ok {
						ok = false
						break
					}
				}
			}
			e.ok = ok
			if !ok && e.must {
				return r.schemaFail()
			}
		}
		kd.ok = ents[0].ok
	}
	if !kd.ok && kd.must {
		return r.schemaFail()
	}
	return true
}

func (r *run) has(seen int32, name int32) bool {
	return r.words[int(seen)+int(name>>6)]>>(name&63)&1 != 0
}

var (
	litTrue  = []byte("true")
	litFalse = []byte("false")
	litNull  = []byte("null")
)

// scanLiteral reads true, false or null.
func (r *run) scanLiteral() (kind uint8, b, ok bool) {
	d := r.data[r.pos:]
	switch {
	case bytes.HasPrefix(d, litTrue):
		r.pos += 4
		return tBool, true, true
	case bytes.HasPrefix(d, litFalse):
		r.pos += 5
		return tBool, false, true
	case bytes.HasPrefix(d, litNull):
		r.pos += 4
		return tNull, false, true
	}
	return 0, false, r.syntax()
}

func (r *run) literal(e0 int) bool {
	kind, b, ok := r.scanLiteral()
	if !ok {
		return false
	}
	for i := e0; i < len(r.ents); i++ {
		if e := &r.ents[i]; e.ok && !litOK(e.n, kind, b) && !r.fail(i) {
			return false
		}
	}
	return true
}

// litOK judges true, false or null.
func litOK(n *node, kind uint8, b bool) bool {
	ok := !n.never && (n.types == 0 || n.types&kind != 0)
	if ok && n.hasConst {
		ok = n.cnst.kind == kind && (kind == tNull || n.cnst.b == b)
	}
	if ok && n.enum != nil {
		switch {
		case kind == tNull:
			ok = n.enum.null
		case b:
			ok = n.enum.bools[1]
		default:
			ok = n.enum.bools[0]
		}
	}
	return ok
}

// str evaluates a string value. Its text is decoded only when some
// subschema reads it (a type check needs no text).
func (r *run) str(e0 int) bool {
	start := r.pos + 1
	end, esc, ok := r.scanStr(false)
	if !ok {
		return false
	}
	need := false
	for i := e0; i < len(r.ents); i++ {
		e := &r.ents[i]
		if !e.ok {
			continue
		}
		if n := e.n; n.readsText {
			need = true
			break
		} else if n.never || n.types != 0 && n.types&tString == 0 {
			if !r.fail(i) {
				return false
			}
		}
	}
	if !need {
		return true
	}
	s := r.data[start:end]
	if esc {
		r.sbuf = unescape(r.sbuf[:0], s)
		s = r.sbuf
	}
	return r.stringChecks(e0, s)
}

// scanStr skims the string at r.pos (a quote), checking its escapes and
// surrogates, and leaves r.pos after it. It returns the closing quote's
// offset and whether the content has escapes.
func (r *run) scanStr(isKey bool) (end int, esc, ok bool) {
	d := r.data
	i := r.pos + 1
	for {
		i = skipString(d, i)
		if i >= len(d) {
			return 0, false, r.syntax()
		}
		switch d[i] {
		case '"':
			r.pos = i + 1
			return i, esc, true
		case '\\':
		default: // a control character
			return 0, false, r.syntax()
		}
		esc = true
		if i+1 >= len(d) {
			return 0, false, r.syntax()
		}
		switch d[i+1] {
		case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			i += 2
			continue
		case 'u':
		default:
			return 0, false, r.syntax()
		}
		cp, ok := hex4(d, i+2)
		if !ok {
			return 0, false, r.syntax()
		}
		switch {
		case cp >= 0xD800 && cp <= 0xDBFF:
			if i+7 < len(d) && d[i+6] == '\\' && d[i+7] == 'u' {
				if lo, ok := hex4(d, i+8); ok && lo >= 0xDC00 && lo <= 0xDFFF {
					i += 12
					continue
				}
			}
			if !r.decodeIssue(KeywordSurrogate) {
				return 0, false, false
			}
		case cp >= 0xDC00 && cp <= 0xDFFF:
			if !r.decodeIssue(KeywordSurrogate) {
				return 0, false, false
			}
		}
		i += 6
	}
}

// stringChecks evaluates the ents from e0 on string text s.
func (r *run) stringChecks(e0 int, s []byte) bool {
	for i := e0; i < len(r.ents); i++ {
		e := &r.ents[i]
		if !e.ok || r.strOK(e.n, s) {
			continue
		}
		if !r.fail(i) {
			return false
		}
	}
	return true
}

func (r *run) strOK(n *node, s []byte) bool {
	if n.never || n.types != 0 && n.types&tString == 0 {
		return false
	}
	if n.hasConst && (n.cnst.kind != tString || n.cnst.s != view(s)) {
		return false
	}
	if n.enum != nil {
		if _, ok := n.enum.strs[view(s)]; !ok {
			return false
		}
	}
	if n.kinds&tString == 0 {
		return true
	}
	if n.minLen >= 0 || n.maxLen >= 0 {
		c := utf8.RuneCountInString(view(s))
		if n.minLen >= 0 && c < n.minLen || n.maxLen >= 0 && c > n.maxLen {
			return false
		}
	}
	if n.pattern.ok() && !n.pattern.matches(s) {
		return false
	}
	if n.format != nil && !n.format(view(s)) {
		return false
	}
	for _, chk := range n.checks {
		switch chk(view(s)) {
		case Fail:
			return false
		case Warn:
			r.warned = true
		}
	}
	return true
}

// scanNum reads the number at r.pos with the decode rules and leaves r.pos
// after it.
func (r *run) scanNum() (d dec, tok []byte, ok bool) {
	start := r.pos
	end, d, info, ok := scanNumber(r.data, r.pos)
	if !ok {
		return d, nil, r.syntax()
	}
	r.pos = end
	tok = r.data[start:end]
	if decodeIssue(tok, info) && !r.decodeIssue(KeywordNumber) {
		return d, tok, false
	}
	return d, tok, true
}

// number evaluates a number value.
func (r *run) number(e0 int) bool {
	d, tok, ok := r.scanNum()
	if !ok {
		return false
	}
	var rat *big.Rat
	for i := e0; i < len(r.ents); i++ {
		e := &r.ents[i]
		if !e.ok || numOK(e.n, d, tok, &rat) {
			continue
		}
		if !r.fail(i) {
			return false
		}
	}
	return true
}

// exactRat returns the literal's exact value, computing it once.
func exactRat(tok []byte, rat **big.Rat) *big.Rat {
	if *rat == nil {
		*rat = ratOf(tok)
	}
	return *rat
}

var maxSafeRat = new(big.Rat).SetInt64(1<<53 - 1)

func numOK(n *node, d dec, tok []byte, rat **big.Rat) bool {
	if n.never {
		return false
	}
	if n.types != 0 && n.types&tNumber == 0 {
		if n.types&tInteger == 0 {
			return false
		}
		if d.exact && !d.isInt() || !d.exact && !exactRat(tok, rat).IsInt() {
			return false
		}
	}
	if n.safeInt {
		if d.exact && d.beyondSafe() {
			return false
		}
		if !d.exact {
			x := exactRat(tok, rat)
			if x.IsInt() && new(big.Rat).Abs(x).Cmp(maxSafeRat) > 0 {
				return false
			}
		}
	}
	if n.hasConst && (n.cnst.kind != tNumber || !numEqual(n.cnst, d, tok, rat)) {
		return false
	}
	if n.enum != nil {
		found := false
		for _, c := range n.enum.nums {
			if numEqual(c, d, tok, rat) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	for _, b := range n.bounds {
		if b.op == opMult {
			if d.exact && b.d.exact {
				if yes, ok := multipleOf(d, b.d); ok {
					if !yes {
						return false
					}
					continue
				}
			}
			if !new(big.Rat).Quo(exactRat(tok, rat), b.rat).IsInt() {
				return false
			}
			continue
		}
		var c int
		if d.exact && b.d.exact {
			c = cmpDec(d, b.d)
		} else {
			c = exactRat(tok, rat).Cmp(b.rat)
		}
		switch b.op {
		case opMin:
			if c < 0 {
				return false
			}
		case opMax:
			if c > 0 {
				return false
			}
		case opXMin:
			if c <= 0 {
				return false
			}
		case opXMax:
			if c >= 0 {
				return false
			}
		}
	}
	return true
}

// numEqual compares a number with a const or enum number.
func numEqual(c cval, d dec, tok []byte, rat **big.Rat) bool {
	if d.exact && c.n.exact {
		return cmpDec(d, c.n) == 0
	}
	cr := c.rat
	if cr == nil {
		cr = new(big.Rat)
		if c.n.m != 0 {
			cr = ratOfDec(c.n)
		}
	}
	return exactRat(tok, rat).Cmp(cr) == 0
}

// ratOfDec converts an exact dec to a big.Rat.
func ratOfDec(d dec) *big.Rat {
	x := new(big.Rat).SetInt(new(big.Int).SetUint64(d.m))
	if d.neg {
		x.Neg(x)
	}
	p := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(abs32(d.e))), nil)
	if d.e >= 0 {
		return x.Mul(x, new(big.Rat).SetInt(p))
	}
	return x.Quo(x, new(big.Rat).SetInt(p))
}

func abs32(x int32) int32 {
	if x < 0 {
		return -x
	}
	return x
}

// keyOf reads the key value found during the pass, by wire's key rule:
// a non-empty string that fits a subject token, or an integer written
// without fraction or exponent (its digits are the key).
func (r *run) keyOf() (string, bool) {
	if r.keyAt < 0 {
		return "", false
	}
	return keyAt(r.data, r.keyAt)
}

// spanHash is an array item's hash for uniqueItems.
type spanHash struct {
	h uint64
	i int32
}
