package publish

import (
	"strconv"
	"unicode/utf8"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
)

// parseReply reads the common answer — a flat JSON object of plain strings
// and one unsigned integer, such as {"status":"stored","id":"…",
// "envelope_id":"…","dataset":"jobads","key":"…","seq":7} — without
// reflection. It reports false for anything else (escapes, violations,
// unknown members, other spacing), which the caller decodes with
// encoding/json, so both always agree.
func parseReply(b []byte) (wire.Reply, bool) {
	var r wire.Reply
	i := 0
	if len(b) < 2 || b[0] != '{' {
		return r, false
	}
	i = 1
	if b[i] == '}' {
		return r, i+1 == len(b)
	}
	for {
		name, j, ok := plainString(b, i)
		if !ok || j >= len(b) || b[j] != ':' {
			return r, false
		}
		i = j + 1
		if name == "seq" {
			k := i
			for k < len(b) && b[k] >= '0' && b[k] <= '9' {
				k++
			}
			if k-i > 1 && b[i] == '0' {
				return r, false // JSON has no leading zeros
			}
			n, err := strconv.ParseUint(string(b[i:k]), 10, 64)
			if err != nil {
				return r, false
			}
			r.Seq, i = n, k
		} else {
			v, k, ok := plainString(b, i)
			if !ok {
				return r, false
			}
			switch name {
			case "status":
				r.Status = wire.Status(v)
			case "code":
				r.Code = wire.Code(v)
			case "id":
				r.ID = v
			case "envelope_id":
				r.EnvelopeID = v
			case "dataset":
				r.Dataset = v
			case "key":
				r.Key = v
			case "error":
				r.Error = v
			default:
				return r, false
			}
			i = k
		}
		if i >= len(b) {
			return r, false
		}
		switch b[i] {
		case ',':
			i++
		case '}':
			return r, i+1 == len(b)
		default:
			return r, false
		}
	}
}

// plainString reads a JSON string without escapes or control characters at
// b[i] and returns it and the offset after it.
func plainString(b []byte, i int) (string, int, bool) {
	if i >= len(b) || b[i] != '"' {
		return "", i, false
	}
	ascii := true
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			if !ascii && !utf8.Valid(b[i+1:j]) {
				return "", j, false // encoding/json would replace the bad bytes
			}
			return string(b[i+1 : j]), j + 1, true
		case c == '\\' || c < ' ':
			return "", j, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return "", len(b), false
}
