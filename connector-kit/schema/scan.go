package schema

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
)

// The I-JSON checks (RFC 7493) refuse what parsers disagree on, so that a
// stored record reads back the same in every language:
//
//   - an object with the same member name twice ({"id":"1","id":"2"}: some
//     parsers keep the first, Go and most others the last);
//   - a number outside the range of a 64-bit float (1e400 is infinity or an
//     error elsewhere; 1e-400 silently becomes 0);
//   - an integer written without fraction or exponent beyond ±(2^53−1)
//     (a 30-digit id: JavaScript and every float64 decoder round it, an
//     int64 decoder fails); where the schema says "type": "integer", the
//     same bound holds for integers written as 1e20 or 5.0 (see
//     safeIntegerVocab);
//   - a string or member name with a lone UTF-16 surrogate escape
//     ("\ud800": decoders replace it with U+FFFD, or fail).
//
// Decimals with more digits than a float64 holds (0.1, 3.14159265358979323846)
// are kept: every IEEE 754 parser rounds them to the same double.

// Keywords of the I-JSON violations.
const (
	KeywordDuplicateKey = "duplicateKey"
	KeywordNumber       = "number"
	KeywordSurrogate    = "surrogate"
)

// MaxSafeInteger is the largest integer every JSON parser reads exactly
// (2^53−1: float64 and int64 both hold every integer up to it).
const MaxSafeInteger = 1<<53 - 1

// maxSafeIntegerDigits is MaxSafeInteger written out; a 16-digit integer
// literal is compared to it as text.
const maxSafeIntegerDigits = "9007199254740991"

// hardMaxDepth bounds the scanner's stack whatever the configured limit; past
// it the decoder (which has its own bound) reports the record.
const hardMaxDepth = 10000

// scanOutcome is what one pass over a record found.
type scanOutcome int

const (
	scanOK     scanOutcome = iota
	scanDeep               // a container opens deeper than the limit, at offset
	scanSyntax             // not well-formed JSON: the decoder says why
)

// scanner walks a record's bytes once, without building values: it checks
// nesting depth and the I-JSON rules and keeps the path to the current value
// so that a violation gets its JSON pointer. It is pooled; the zero value is
// ready.
type scanner struct {
	data   []byte
	frames []frame
	keys   []keySpan // member names of the open objects, innermost last
	issue  *Violation
	nextBS int // offset of the next backslash at or after the last search; len(data) if none
}

// frame is one open object or array.
type frame struct {
	array     bool
	index     int     // arrays: the current element
	key       keySpan // objects: the current member name
	keysStart int     // objects: where this object's names start in keys
	seen      map[string]struct{}
}

// keySpan is a member name's raw bytes between the quotes, with a hash of
// the name it denotes.
type keySpan struct {
	start, end int
	hash       uint64
	escaped    bool // contains a backslash: compare unescaped
}

// linearKeys is how many names an object may have before duplicate checks
// switch from comparing hashes pairwise to a set of the names, so a huge
// object (even one whose names all share a hash) stays linear.
const linearKeys = 128

var scanners = sync.Pool{New: func() any { return new(scanner) }}

// scanRecord checks data's depth and the I-JSON rules in one pass. For
// scanDeep it returns the offset of the bracket past the limit. The first
// I-JSON violation, if any, is returned with scanOK: the caller reports a
// syntax error from the decoder before it.
func scanRecord(data []byte, maxDepth int) (scanOutcome, int, *Violation) {
	s := scanners.Get().(*scanner)
	s.data, s.nextBS = data, -1
	out, off := s.run(maxDepth)
	issue := s.issue
	s.data, s.issue = nil, nil
	for i := range s.frames {
		s.frames[i].seen = nil
	}
	s.frames, s.keys = s.frames[:0], s.keys[:0]
	scanners.Put(s)
	return out, off, issue
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func (s *scanner) skipSpace(i int) int {
	for i < len(s.data) && isSpace(s.data[i]) {
		i++
	}
	return i
}

// run is the scan proper: a loop over values with an explicit stack.
func (s *scanner) run(maxDepth int) (scanOutcome, int) {
	data := s.data
	i := 0
value:
	i = s.skipSpace(i)
	if i >= len(data) {
		return scanSyntax, i
	}
	switch c := data[i]; {
	case c == '{' || c == '[':
		if len(s.frames) >= maxDepth {
			return scanDeep, i
		}
		if len(s.frames) >= hardMaxDepth {
			return scanSyntax, i
		}
		s.frames = append(s.frames, frame{array: c == '[', keysStart: len(s.keys)})
		i = s.skipSpace(i + 1)
		if i >= len(data) {
			return scanSyntax, i
		}
		if c == '[' {
			if data[i] == ']' {
				i++
				s.pop()
				goto done
			}
			goto value
		}
		if data[i] == '}' {
			i++
			s.pop()
			goto done
		}
		goto key
	case c == '"':
		end, _, ok := s.str(i, false)
		if !ok {
			return scanSyntax, i
		}
		i = end
	case c == '-' || c >= '0' && c <= '9':
		end, ok := s.number(i)
		if !ok {
			return scanSyntax, i
		}
		i = end
	case c == 't':
		if !bytes.HasPrefix(data[i:], []byte("true")) {
			return scanSyntax, i
		}
		i += 4
	case c == 'f':
		if !bytes.HasPrefix(data[i:], []byte("false")) {
			return scanSyntax, i
		}
		i += 5
	case c == 'n':
		if !bytes.HasPrefix(data[i:], []byte("null")) {
			return scanSyntax, i
		}
		i += 4
	default:
		return scanSyntax, i
	}
done:
	if len(s.frames) == 0 {
		if i = s.skipSpace(i); i != len(data) {
			return scanSyntax, i
		}
		return scanOK, 0
	}
	i = s.skipSpace(i)
	if i >= len(data) {
		return scanSyntax, i
	}
	if top := &s.frames[len(s.frames)-1]; top.array {
		switch data[i] {
		case ',':
			top.index++
			i++
			goto value
		case ']':
			i++
			s.pop()
			goto done
		}
		return scanSyntax, i
	}
	switch data[i] {
	case ',':
		i = s.skipSpace(i + 1)
		if i >= len(data) {
			return scanSyntax, i
		}
		goto key
	case '}':
		i++
		s.pop()
		goto done
	}
	return scanSyntax, i
key:
	if data[i] != '"' {
		return scanSyntax, i
	}
	{
		end, escaped, ok := s.str(i, true)
		if !ok {
			return scanSyntax, i
		}
		s.member(s.span(i+1, end-1, escaped))
		i = s.skipSpace(end)
		if i >= len(data) || data[i] != ':' {
			return scanSyntax, i
		}
		i++
	}
	goto value
}

// pop closes the innermost container.
func (s *scanner) pop() {
	top := s.frames[len(s.frames)-1]
	s.keys = s.keys[:top.keysStart]
	s.frames = s.frames[:len(s.frames)-1]
}

// span describes the member name data[start:end] (between its quotes),
// with a hash of the name it denotes.
func (s *scanner) span(start, end int, escaped bool) keySpan {
	k := keySpan{start: start, end: end, escaped: escaped}
	if escaped {
		k.hash = nameHash([]byte(s.keyString(k)))
	} else {
		k.hash = nameHash(s.data[start:end])
	}
	return k
}

// nameHash is a cheap filter for duplicate names, from a name's length and
// its first and last eight bytes: names that differ in it differ; names that
// share it are compared in full.
func nameHash(b []byte) uint64 {
	n := len(b)
	h := uint64(n) * 0x9E3779B97F4A7C15
	if n >= 8 {
		h ^= binary.LittleEndian.Uint64(b)
		h *= 0xff51afd7ed558ccd
		h ^= binary.LittleEndian.Uint64(b[n-8:])
	} else {
		var x uint64
		for _, c := range b {
			x = x<<8 | uint64(c)
		}
		h ^= x
	}
	return h * 0xc4ceb9fe1a85ec53
}

// member records a new member name of the innermost object and checks it
// against the names before it: by hash, then, on a match, by name.
func (s *scanner) member(k keySpan) {
	top := &s.frames[len(s.frames)-1]
	top.key = k
	if s.issue != nil {
		return
	}
	prev := s.keys[top.keysStart:]
	if len(prev) >= linearKeys {
		if top.seen == nil {
			top.seen = make(map[string]struct{}, 2*len(prev))
			for _, p := range prev {
				top.seen[s.keyString(p)] = struct{}{}
			}
		}
		name := s.keyString(k)
		if _, dup := top.seen[name]; dup {
			s.duplicate(k)
			return
		}
		top.seen[name] = struct{}{}
		s.keys = append(s.keys, k)
		return
	}
	for _, p := range prev {
		if p.hash == k.hash && s.sameKey(p, k) {
			s.duplicate(k)
			return
		}
	}
	s.keys = append(s.keys, k)
}

func (s *scanner) duplicate(k keySpan) {
	s.issue = &Violation{Pointer: s.pointer(), Keyword: KeywordDuplicateKey,
		Message: fmt.Sprintf("member %q appears more than once in this object; parsers disagree on which one counts", s.keyString(k))}
}

// sameKey compares two member names as the strings they denote.
func (s *scanner) sameKey(a, b keySpan) bool {
	if !a.escaped && !b.escaped {
		return bytes.Equal(s.data[a.start:a.end], s.data[b.start:b.end])
	}
	return s.keyString(a) == s.keyString(b)
}

// keyString unescapes a member name.
func (s *scanner) keyString(k keySpan) string {
	if !k.escaped {
		return string(s.data[k.start:k.end])
	}
	var v string
	if err := json.Unmarshal(s.data[k.start-1:k.end+1], &v); err != nil {
		return string(s.data[k.start:k.end])
	}
	return v
}

// pointer is the JSON pointer of the current value (for an object, its
// current member).
func (s *scanner) pointer() string {
	var b strings.Builder
	for _, f := range s.frames {
		b.WriteByte('/')
		if f.array {
			b.WriteString(strconv.Itoa(f.index))
		} else {
			b.WriteString(escapePointerToken(s.keyString(f.key)))
		}
	}
	return b.String()
}

// containerPointer is the pointer of the innermost object (for a violation
// in a member name, which has no pointer of its own).
func (s *scanner) containerPointer() string {
	f := s.frames
	s.frames = f[:len(f)-1]
	p := s.pointer()
	s.frames = f
	return p
}

// str skips the string starting at data[i] == '"' and returns the offset
// after its closing quote, and whether it holds an escape. Escapes are looked
// at only to find lone surrogates; the decoder judges the rest. Each byte is
// searched for a quote and for a backslash at most once per record (see
// nextBS), however many escapes a long text holds.
func (s *scanner) str(i int, isKey bool) (end int, escaped, ok bool) {
	data := s.data
	j, quote := i+1, -1
	for {
		if quote < j {
			q := bytes.IndexByte(data[j:], '"')
			if q < 0 {
				return 0, escaped, false
			}
			quote = j + q
		}
		if s.nextBS < j {
			s.nextBS = len(data)
			if b := bytes.IndexByte(data[j:], '\\'); b >= 0 {
				s.nextBS = j + b
			}
		}
		p := s.nextBS
		if p > quote {
			return quote + 1, escaped, true
		}
		escaped = true
		if p+1 >= len(data) {
			return 0, escaped, false
		}
		j = p + 2 // an escaped quote moves j past quote: it is searched again
		if data[p+1] != 'u' {
			continue
		}
		r, ok := hex4(data, p+2)
		if !ok {
			return 0, escaped, false
		}
		j = p + 6
		switch {
		case r >= 0xD800 && r <= 0xDBFF:
			if lo, ok := hex4(data, p+8); ok && data[p+6] == '\\' && data[p+7] == 'u' && lo >= 0xDC00 && lo <= 0xDFFF {
				j = p + 12
				continue
			}
			s.surrogate(r, isKey)
		case r >= 0xDC00 && r <= 0xDFFF:
			s.surrogate(r, isKey)
		}
	}
}

func (s *scanner) surrogate(r rune, isKey bool) {
	if s.issue != nil {
		return
	}
	if isKey {
		s.issue = &Violation{Pointer: s.containerPointer(), Keyword: KeywordSurrogate,
			Message: fmt.Sprintf(`a member name holds a lone UTF-16 surrogate \u%04x, which is no character: decoders replace or refuse it`, r)}
		return
	}
	s.issue = &Violation{Pointer: s.pointer(), Keyword: KeywordSurrogate,
		Message: fmt.Sprintf(`string holds a lone UTF-16 surrogate \u%04x, which is no character: decoders replace or refuse it`, r)}
}

// hex4 reads four hex digits at data[i:].
func hex4(data []byte, i int) (rune, bool) {
	if i+4 > len(data) {
		return 0, false
	}
	var r rune
	for _, c := range data[i : i+4] {
		v, ok := hexVal(c)
		if !ok {
			return 0, false
		}
		r = r<<4 | rune(v)
	}
	return r, true
}

func hexVal(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// number skips the number at data[i:] and checks that every parser reads
// it alike: within float64 range, and an integer literal within
// ±MaxSafeInteger.
func (s *scanner) number(i int) (int, bool) {
	data := s.data
	start := i
	if data[i] == '-' {
		i++
	}
	intStart := i
	switch {
	case i < len(data) && data[i] == '0':
		i++
	case i < len(data) && data[i] >= '1' && data[i] <= '9':
		for i < len(data) && isDigit(data[i]) {
			i++
		}
	default:
		return 0, false
	}
	intDigits := i - intStart
	plain := true
	if i < len(data) && data[i] == '.' {
		plain = false
		i++
		d := i
		for i < len(data) && isDigit(data[i]) {
			i++
		}
		if i == d {
			return 0, false
		}
	}
	exp := 0
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		plain = false
		i++
		neg := false
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			neg = data[i] == '-'
			i++
		}
		d := i
		for i < len(data) && isDigit(data[i]) {
			if exp < 1<<20 {
				exp = exp*10 + int(data[i]-'0')
			}
			i++
		}
		if i == d {
			return 0, false
		}
		if neg {
			exp = -exp
		}
	}
	if s.issue != nil {
		return i, true
	}
	tok := data[start:i]
	if plain {
		if intDigits > len(maxSafeIntegerDigits) ||
			intDigits == len(maxSafeIntegerDigits) && string(data[intStart:i]) > maxSafeIntegerDigits {
			s.issue = &Violation{Pointer: s.pointer(), Keyword: KeywordNumber,
				Message: fmt.Sprintf("integer %s is beyond ±%d (2^53−1): JavaScript and float64 decoders round it and int64 decoders may refuse it; send it as a string", clip(tok), MaxSafeInteger)}
		}
		return i, true
	}
	// Short numbers with a modest exponent are always within range.
	if len(tok) <= 32 && exp > -250 && exp < 250 {
		return i, true
	}
	f, err := strconv.ParseFloat(string(tok), 64)
	switch {
	case err != nil:
		s.issue = &Violation{Pointer: s.pointer(), Keyword: KeywordNumber,
			Message: fmt.Sprintf("number %s is outside the range of a 64-bit float (±1.8e308): other parsers make it infinity or refuse it", clip(tok))}
	case f == 0 && bytes.ContainsAny(mantissa(tok), "123456789"):
		s.issue = &Violation{Pointer: s.pointer(), Keyword: KeywordNumber,
			Message: fmt.Sprintf("number %s is too small for a 64-bit float: other parsers read it as 0", clip(tok))}
	}
	return i, true
}

// mantissa is a number's digits before its exponent.
func mantissa(tok []byte) []byte {
	if e := bytes.IndexAny(tok, "eE"); e >= 0 {
		return tok[:e]
	}
	return tok
}

// clip shortens a long number for a message.
func clip(tok []byte) string {
	if len(tok) <= 40 {
		return string(tok)
	}
	return string(tok[:20]) + "…" + string(tok[len(tok)-10:]) + fmt.Sprintf(" (%d characters)", len(tok))
}
