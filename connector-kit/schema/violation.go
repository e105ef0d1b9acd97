package schema

import (
	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"slices"
	"strconv"
	"strings"
)

// Violation is one reason a record was rejected. It is defined in package
// wire, which carries it to publishers; this alias keeps schema's API whole.
type Violation = wire.Violation

// ComparePointers orders two JSON pointers segment by segment; segments that
// are both array indexes compare as numbers, so "/a/2" sorts before "/a/10".
func ComparePointers(a, b string) int {
	for a != "" || b != "" {
		if a == "" {
			return -1
		}
		if b == "" {
			return 1
		}
		var sa, sb string
		sa, a = nextSegment(a)
		sb, sb2 := nextSegment(b)
		b = sb2
		if sa == sb {
			continue
		}
		na, errA := strconv.ParseUint(sa, 10, 64)
		nb, errB := strconv.ParseUint(sb, 10, 64)
		if errA == nil && errB == nil && na != nb {
			if na < nb {
				return -1
			}
			return 1
		}
		return strings.Compare(sa, sb)
	}
	return 0
}

// nextSegment splits "/x/y" into "x" and "/y".
func nextSegment(p string) (seg, rest string) {
	p = strings.TrimPrefix(p, "/")
	if i := strings.IndexByte(p, '/'); i >= 0 {
		return p[:i], p[i:]
	}
	return p, ""
}

// sortViolations orders violations by pointer, then keyword, then message,
// and drops duplicates.
func sortViolations(vs []Violation) []Violation {
	if len(vs) < 2 {
		return vs
	}
	slices.SortFunc(vs, func(a, b Violation) int {
		if c := ComparePointers(a.Pointer, b.Pointer); c != 0 {
			return c
		}
		if c := strings.Compare(a.Keyword, b.Keyword); c != 0 {
			return c
		}
		return strings.Compare(a.Message, b.Message)
	})
	return slices.Compact(vs)
}

// escapePointerToken escapes one reference token per RFC 6901.
func escapePointerToken(s string) string {
	if !strings.ContainsAny(s, "~/") {
		return s
	}
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// unescapePointerToken undoes escapePointerToken.
func unescapePointerToken(s string) string {
	if !strings.Contains(s, "~") {
		return s
	}
	return strings.ReplaceAll(strings.ReplaceAll(s, "~1", "/"), "~0", "~")
}
