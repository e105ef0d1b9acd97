// Package recordid makes record ids from what a record is, so that sending
// the same record again — a resent batch, a re-run import, a file read again
// after a restart — is stored once, while a changed record gets a new id.
// The sidecar's ?id_from=, the file source's id_from and `connector import`
// all use it, so id_from means one thing everywhere.
package recordid

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/jobtech-dev/datahub/connector-kit/schema"
	"github.com/jobtech-dev/datahub/connector-kit/wire"
)

// hashLen is how many bytes of the record's SHA-256 an id carries (16 hex
// digits): enough that two versions of one record never share an id.
const hashLen = 8

// FromField is the id of a record identified by the value at field (a
// top-level field name, or a JSON pointer starting with "/") together with
// its content: "<dataset>:<value>:<16 hex of sha256(data)>". The value must
// be a non-empty string, a number or a boolean; when it would make the id
// invalid (spaces, control characters, too long) it is replaced by "h:" and
// 32 hex of its own SHA-256.
func FromField(dataset, field string, data []byte) (string, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return "", fmt.Errorf("id_from %s: record is not JSON: %w", field, err)
	}
	ptr := Pointer(field)
	x, ok := schema.Lookup(v, ptr)
	if !ok {
		return "", fmt.Errorf("id_from %s: the record has no value at %s", field, ptr)
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
		return "", fmt.Errorf("id_from %s: the value at %s is %s, not a string or number", field, ptr, kind(x))
	}
	if s == "" {
		return "", fmt.Errorf("id_from %s: the value at %s is empty", field, ptr)
	}
	tail := ":" + hashOf(data, hashLen)
	if id := dataset + ":" + s + tail; wire.ValidRecordID(id) {
		return id, nil
	}
	return dataset + ":h:" + hashOf([]byte(s), 16) + tail, nil
}

// FromLine is the id of the record on line of a file named base:
// "<base>:<line>:<16 hex of sha256(data)>", with base made a valid id
// (bytes outside printable ASCII become "_") and shortened to fit.
func FromLine(base string, line int, data []byte) string {
	tail := ":" + strconv.Itoa(line) + ":" + hashOf(data, hashLen)
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

// Pointer turns an id_from setting into a JSON pointer: a pointer stays as
// it is, a field name becomes the pointer to that top-level field.
func Pointer(field string) string {
	if strings.HasPrefix(field, "/") {
		return field
	}
	return "/" + strings.NewReplacer("~", "~0", "/", "~1").Replace(field)
}

func hashOf(b []byte, n int) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:n])
}

func kind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	}
	return fmt.Sprintf("%T", v)
}
