package fastschema

import (
	"bytes"
	"strconv"
	"strings"
)

// classifyRecord says why a record the pass refused is invalid, in the
// reference's order: nesting depth and syntax (maxDepth whenever brackets
// nest too deep anywhere, as the reference's bracket scan finds), then a
// top-level value that is not an object, then the first decode rule broken
// in document order, with its pointer; otherwise the schema. It rescans the
// record without the schema (invalid records only).
func (r *run) classifyRecord() Failure {
	data := r.data
	r.reset(data)
	r.classify = true
	r.kcur, r.tcur = -1, -1
	r.ws()
	ok := r.value(0, 0)
	if ok {
		r.ws()
		ok = r.pos == len(data)
	}
	switch {
	case !ok && (r.why == whyDepth || bracketsTooDeep(data, r.v.lim.MaxDepth)):
		return Failure{Stage: StageDecode, Keyword: KeywordMaxDepth}
	case !ok:
		return Failure{Stage: StageDecode, Keyword: KeywordJSON}
	}
	if i := skipSpaces(data); data[i] != '{' {
		return Failure{Stage: StageDecode, Keyword: KeywordType}
	}
	if r.issue != nil {
		return *r.issue
	}
	return Failure{Stage: StageSchema}
}

func skipSpaces(d []byte) int {
	i := 0
	for i < len(d) && isSpace[d[i]] {
		i++
	}
	return i
}

// bracketsTooDeep reports whether a '[' or '{' outside strings opens deeper
// than maxDepth, on any input (the reference's rule for text that is not
// JSON).
func bracketsTooDeep(data []byte, maxDepth int) bool {
	depth := 0
	for i := 0; i < len(data); i++ {
		switch data[i] {
		case '"':
			j := i + 1
			for {
				k := bytes.IndexByte(data[j:], '"')
				if k < 0 {
					return false
				}
				j += k
				bs := 0
				for p := j - 1; p > i && data[p] == '\\'; p-- {
					bs++
				}
				if bs%2 == 0 {
					break
				}
				j++
			}
			i = j
		case '[', '{':
			depth++
			if depth > maxDepth {
				return true
			}
		case ']', '}':
			depth--
		}
	}
	return false
}

// pointer renders the path to the current value as a JSON pointer.
func (r *run) pointer() string {
	var b strings.Builder
	for _, t := range r.path {
		b.WriteByte('/')
		if t.isKey {
			s := string(t.key)
			s = strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
			b.WriteString(s)
		} else {
			b.WriteString(strconv.Itoa(t.idx))
		}
	}
	return b.String()
}
