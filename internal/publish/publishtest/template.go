package publishtest

import (
	"bytes"
	"strconv"
	"testing"
)

// Template is a record split at the end of its "id" value, so that every
// copy a benchmark sends has an id (and, for the job ads, a key) of its own
// while keeping the record's size and shape.
type Template struct{ head, tail []byte }

// NewTemplate splits rec at the end of its first "id" string value (rec is
// copied); a record without one fails tb.
func NewTemplate(tb testing.TB, rec []byte) Template {
	tb.Helper()
	i := bytes.Index(rec, []byte(`"id"`))
	if i < 0 {
		tb.Fatal("template: record without id")
	}
	j := bytes.IndexByte(rec[i+4:], '"') // opening quote of the value
	if j < 0 {
		tb.Fatal("template: record without id value")
	}
	start := i + 4 + j + 1
	k := bytes.IndexByte(rec[start:], '"')
	if k < 0 {
		tb.Fatal("template: unterminated id")
	}
	end := start + k
	return Template{head: append([]byte(nil), rec[:end]...), tail: append([]byte(nil), rec[end:]...)}
}

// With returns a copy of the record whose id ends in "-", prefix and i.
func (t Template) With(prefix string, i int64) []byte {
	out := make([]byte, 0, len(t.head)+len(t.tail)+len(prefix)+21)
	out = append(out, t.head...)
	out = append(out, '-')
	out = append(out, prefix...)
	out = strconv.AppendInt(out, i, 10)
	return append(out, t.tail...)
}

// Len is the record's size without what With adds.
func (t Template) Len() int { return len(t.head) + len(t.tail) }
