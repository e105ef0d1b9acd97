package fastschema

import (
	"bytes"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
)

// The record key and the tombstone flag are found during the pass: the path
// to each value is matched against the pointer's tokens as the pass
// descends, so finding them costs a comparison per member on the path.

// byName is the cursor of a member named key of a value whose cursor is cur.
func byName(cur int, toks []string, key []byte) int {
	if cur < 0 || cur >= len(toks) || toks[cur] != string(key) {
		return -1
	}
	return cur + 1
}

// byIndex is the cursor of item idx of an array whose cursor is cur.
func byIndex(cur int, ix []int, idx int) int {
	if cur < 0 || cur >= len(ix) || ix[cur] != idx {
		return -1
	}
	return cur + 1
}

// keyAt reads the key value at data[i:] (well-formed, already checked) as
// wire's key rule (wire.StringKeyProblem, wire.NumberKeyProblem) says.
func keyAt(data []byte, i int) (string, bool) {
	switch c := data[i]; {
	case c == '"':
		end := stringEnd(data, i)
		raw := data[i+1 : end]
		var k string
		if bytes.IndexByte(raw, '\\') >= 0 {
			k = string(unescape(nil, raw))
		} else {
			k = string(raw)
		}
		if wire.StringKeyProblem(k) != "" {
			return "", false
		}
		return k, true
	case c == '-' || c >= '0' && c <= '9':
		end, _, _, _ := scanNumber(data, i)
		tok := string(data[i:end])
		if wire.NumberKeyProblem(tok) != "" {
			return "", false
		}
		return tok, true
	}
	return "", false
}

// stringEnd returns the offset of the closing quote of the well-formed
// string at data[i].
func stringEnd(data []byte, i int) int {
	j := i + 1
	for {
		j = skipString(data, j)
		if j >= len(data) || data[j] == '"' {
			return j
		}
		j += 2 // an escape; \uXXXX's hex digits are skimmed as content
	}
}
