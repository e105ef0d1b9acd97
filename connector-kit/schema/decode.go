package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/bytedance/sonic"
)

// decoder is the fast JSON decoder used for every record. Numbers stay
// json.Number (exact integers); strings are copied (the value never aliases
// the caller's buffer) and checked for raw control characters, as
// encoding/json does. It is a read-only value shared by all checks.
var decoder = sonic.Config{
	UseNumber:      true,
	CopyString:     true,
	ValidateString: true,
}.Froze()

// Decode runs the pre-checks on a record and decodes it: size, UTF-8, nesting
// depth, well-formed JSON, a top-level object and the I-JSON rules (no
// duplicate member names, numbers every parser reads alike, no lone
// surrogates; see [KeywordDuplicateKey]), in that order, stopping at the
// first that fails. An I-JSON violation carries the JSON pointer of the
// offending value. Depth and the I-JSON rules are checked in one pass over
// the bytes, before the decoder runs. It returns the decoded value (numbers
// as [encoding/json.Number]) or the violation; nil violations mean the
// record passed.
func Decode(data []byte, lim Limits) (any, []Violation) {
	lim = lim.withDefaults()
	if len(data) > lim.MaxBytes {
		return nil, []Violation{{Keyword: KeywordMaxBytes,
			Message: fmt.Sprintf("record is %d bytes, more than the limit of %d bytes", len(data), lim.MaxBytes)}}
	}
	if !utf8.Valid(data) {
		return nil, []Violation{{Keyword: KeywordUTF8,
			Message: fmt.Sprintf("record is not valid UTF-8 (first bad byte at offset %d)", invalidUTF8Offset(data))}}
	}
	outcome, off, issue := scanRecord(data, lim.MaxDepth)
	if outcome == scanSyntax {
		// Not JSON: the decoder says why, unless brackets nest too deep
		// for it to be safe to try.
		off = depthExceeded(data, lim.MaxDepth)
		if off >= 0 {
			outcome = scanDeep
		}
	}
	if outcome == scanDeep {
		return nil, []Violation{{Keyword: KeywordMaxDepth,
			Message: fmt.Sprintf("record nests objects and arrays deeper than the limit of %d levels (at byte offset %d)", lim.MaxDepth, off)}}
	}
	v, vs := decodeJSON(data)
	if vs != nil {
		return nil, vs
	}
	if _, ok := v.(map[string]any); !ok {
		return nil, []Violation{{Keyword: KeywordType,
			Message: fmt.Sprintf("record must be a JSON object, not %s", jsonKind(v))}}
	}
	if issue != nil {
		return nil, []Violation{*issue}
	}
	return v, nil
}

// decodeJSON decodes data with the fast decoder. Only when that fails is the
// input decoded again with encoding/json, which is the reference: its error
// gives the position, and should it accept what the fast decoder refused, its
// value is used, so both always agree with encoding/json.
func decodeJSON(data []byte) (any, []Violation) {
	var v any
	if err := decoder.Unmarshal(data, &v); err == nil {
		return v, nil
	}
	var raw json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, []Violation{{Keyword: KeywordJSON, Message: syntaxMessage("record", data, err)}}
	}
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		return nil, []Violation{{Keyword: KeywordJSON, Message: syntaxMessage("record", data, err)}}
	}
	return v, nil
}

// syntaxMessage renders a decoding error of what (a "record", a
// "document") with its byte offset and line:col.
func syntaxMessage(what string, data []byte, err error) string {
	var se *json.SyntaxError
	if !errors.As(err, &se) {
		return what + " is not valid JSON: " + err.Error()
	}
	off := int(se.Offset)
	// encoding/json's offset counts the bad byte itself; point at it.
	if off > 0 && off <= len(data) && se.Error() != "unexpected end of JSON input" {
		off--
	}
	line, col := lineCol(data, off)
	return fmt.Sprintf("%s is not valid JSON at byte offset %d (line %d, column %d): %s", what, off, line, col, se.Error())
}

// lineCol turns a byte offset into a 1-based line and column (in bytes).
func lineCol(data []byte, off int) (line, col int) {
	off = min(max(off, 0), len(data))
	head := data[:off]
	line = 1 + bytes.Count(head, []byte{'\n'})
	col = off - bytes.LastIndexByte(head, '\n')
	return line, col
}

// invalidUTF8Offset returns the offset of the first byte that is not valid UTF-8.
func invalidUTF8Offset(data []byte) int {
	for i := 0; i < len(data); {
		r, n := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return len(data)
}

// depthExceeded scans data once and returns the byte offset of the first '['
// or '{' that opens a container deeper than maxDepth, or -1. Brackets inside
// strings (including after escaped quotes) do not count. It stops at the limit,
// so it is safe on any input and runs before a recursive decoder sees it.
func depthExceeded(data []byte, maxDepth int) int {
	depth := 0
	for i := 0; i < len(data); i++ {
		switch data[i] {
		case '"':
			// Skip the string: find its closing quote, one not escaped
			// by an odd run of backslashes.
			j := i + 1
			for {
				k := bytes.IndexByte(data[j:], '"')
				if k < 0 {
					return -1 // unterminated string: the decoder reports it
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
				return i
			}
		case ']', '}':
			depth--
		}
	}
	return -1
}

// jsonKind names the JSON type of a decoded value.
func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case json.Number, float64:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	default:
		return fmt.Sprintf("%T", v)
	}
}
