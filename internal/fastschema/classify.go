package fastschema

import (
	"strconv"
	"strings"

	"github.com/jobtech-dev/datahub/connector-kit/schema"
)

// classifyRecord says why a record the pass refused is invalid (invalid
// records only: it rescans). The reference's own Decode answers for its
// checks (size, UTF-8, depth, syntax, a top-level object and, where the
// reference has them, the I-JSON rules), so those failures are reported
// exactly as the reference reports them. If it finds nothing, the record is
// rescanned without the schema for the first I-JSON rule broken, with its
// pointer; if there is none either, the schema refused it.
func (r *run) classifyRecord() Failure {
	data := r.data
	if _, vs := schema.Decode(data, r.lim); vs != nil {
		return Failure{Stage: StageDecode, Keyword: vs[0].Keyword, Pointer: vs[0].Pointer}
	}
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
	case !ok && r.why == whyDepth:
		// Not reached while the reference agrees: it checks depth first.
		return Failure{Stage: StageDecode, Keyword: KeywordMaxDepth}
	case !ok:
		return Failure{Stage: StageDecode, Keyword: KeywordJSON}
	case r.issue != nil:
		return *r.issue
	}
	return Failure{Stage: StageSchema}
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
