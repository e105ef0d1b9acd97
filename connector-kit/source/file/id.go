package file

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
)

// defaultID is "<file base>:<line>:<16 hex of sha256(data)>", with the
// base made a valid record id (bytes outside printable ASCII become "_")
// and shortened to fit wire.MaxRecordIDLen.
func defaultID(base string, line int, data []byte) string {
	sum := sha256.Sum256(data)
	tail := ":" + strconv.Itoa(line) + ":" + hex.EncodeToString(sum[:8])
	b := []byte(base)
	for i, c := range b {
		if c <= ' ' || c > '~' {
			b[i] = '_'
		}
	}
	if room := wire.MaxRecordIDLen - len(tail); len(b) > room {
		b = b[:room]
	}
	return string(b) + tail
}

// idFrom is "<dataset>:<value>" for the value at field in data; when that
// is not a valid record id (spaces, too long) the value is replaced by
// "h:" and 32 hex of its SHA-256. It fails when data is not JSON or the
// value is missing, null, an object or an array.
func idFrom(dataset, field string, data []byte) (string, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return "", fmt.Errorf("not JSON: %w", err)
	}
	ptr := field
	if !strings.HasPrefix(ptr, "/") {
		ptr = "/" + strings.NewReplacer("~", "~0", "/", "~1").Replace(field)
	}
	x, ok := lookup(v, ptr)
	if !ok {
		return "", fmt.Errorf("no value at %s", ptr)
	}
	var s string
	switch x := x.(type) {
	case string:
		s = x
	case json.Number:
		s = x.String()
	case bool:
		s = strconv.FormatBool(x)
	default:
		return "", fmt.Errorf("value at %s is %T, not a string or number", ptr, x)
	}
	if s == "" {
		return "", fmt.Errorf("value at %s is empty", ptr)
	}
	if id := dataset + ":" + s; wire.ValidRecordID(id) {
		return id, nil
	}
	sum := sha256.Sum256([]byte(s))
	return dataset + ":h:" + hex.EncodeToString(sum[:16]), nil
}

// lookup finds the value at an RFC 6901 JSON pointer in a decoded value.
func lookup(v any, ptr string) (any, bool) {
	if ptr == "" {
		return v, true
	}
	for _, tok := range strings.Split(ptr[1:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch c := v.(type) {
		case map[string]any:
			x, ok := c[tok]
			if !ok {
				return nil, false
			}
			v = x
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(c) || (len(tok) > 1 && tok[0] == '0') || tok[0] == '+' {
				return nil, false
			}
			v = c[i]
		default:
			return nil, false
		}
	}
	return v, true
}
