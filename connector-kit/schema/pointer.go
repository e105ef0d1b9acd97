package schema

import (
	"strconv"
	"strings"
)

// Lookup returns the value at a JSON pointer (RFC 6901, "~1" for "/" and "~0"
// for "~") inside a decoded JSON value, and whether it exists. "" is the
// whole value; a pointer that does not start with "/" finds nothing.
func Lookup(v any, pointer string) (any, bool) {
	if pointer == "" {
		return v, true
	}
	if pointer[0] != '/' {
		return nil, false
	}
	rest := pointer
	for rest != "" {
		var tok string
		tok, rest = nextSegment(rest)
		tok = unescapePointerToken(tok)
		switch c := v.(type) {
		case map[string]any:
			x, ok := c[tok]
			if !ok {
				return nil, false
			}
			v = x
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(c) || (len(tok) > 1 && tok[0] == '0') || strings.HasPrefix(tok, "+") {
				return nil, false
			}
			v = c[i]
		default:
			return nil, false
		}
	}
	return v, true
}
