package recordid

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
)

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func TestIDFrom(t *testing.T) {
	long := strings.Repeat("x", 200)
	tests := []struct {
		name, field, data, want string
		wantErr                 bool
	}{
		{name: "string", field: "/id", data: `{"id":"22884504"}`, want: "ads:22884504"},
		{name: "field name", field: "id", data: `{"id":"22884504"}`, want: "ads:22884504"},
		{name: "field name with slash", field: "a/b", data: `{"a/b":"x"}`, want: "ads:x"},
		{name: "number kept exactly", field: "/n", data: `{"n":12345678901234567890}`, want: "ads:12345678901234567890"},
		{name: "nested", field: "/meta/refs/1", data: `{"meta":{"refs":["a","b"]}}`, want: "ads:b"},
		{name: "space hashed", field: "/id", data: `{"id":"a b"}`, want: "ads:h:" + hashHex("a b")},
		{name: "too long hashed", field: "/id", data: fmt.Sprintf(`{"id":%q}`, long), want: "ads:h:" + hashHex(long)},
		{name: "missing", field: "/nope", data: `{"id":"1"}`, wantErr: true},
		{name: "object", field: "/id", data: `{"id":{}}`, wantErr: true},
		{name: "null", field: "/id", data: `{"id":null}`, wantErr: true},
		{name: "empty", field: "/id", data: `{"id":""}`, wantErr: true},
		{name: "not JSON", field: "/id", data: `{"id"`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FromField("ads", tt.field, []byte(tt.data))
			want := tt.want
			if !tt.wantErr {
				// The value names the record; the hash of the bytes tells
				// its versions apart.
				want += ":" + sha256Hex(tt.data)[:16]
			}
			if (err != nil) != tt.wantErr || got != want {
				t.Fatalf("FromField = %q, %v; want %q (error %v)", got, err, want, tt.wantErr)
			}
		})
	}
}

// hashHex is how FromField shortens a value: 32 hex of its SHA-256.
func hashHex(s string) string { return sha256Hex(s)[:32] }

func TestDefaultID(t *testing.T) {
	tests := []struct {
		base string
		line int
	}{
		{"job-ads.ndjson", 1},
		{"annonser från mig.ndjson", 42},
		{strings.Repeat("a", 300) + ".ndjson", 7},
	}
	for _, tt := range tests {
		id := FromLine(tt.base, tt.line, []byte(`{}`))
		if !wire.ValidRecordID(id) || !strings.HasSuffix(id, fmt.Sprintf(":%d:%s", tt.line, sha256Hex("{}")[:16])) {
			t.Errorf("FromLine(%q) = %q", tt.base, id)
		}
	}
	if a, b := FromLine("f", 1, []byte(`{"a":1}`)), FromLine("f", 1, []byte(`{"a":2}`)); a == b {
		t.Fatal("different records share an id")
	}
}

func TestFromFieldChangesWithContent(t *testing.T) {
	a, err1 := FromField("ads", "id", []byte(`{"id":"1","v":1}`))
	b, err2 := FromField("ads", "id", []byte(`{"id":"1","v":2}`))
	if err1 != nil || err2 != nil || a == b || !strings.HasPrefix(a, "ads:1:") {
		t.Fatalf("%q %q %v %v: two versions of a record must have two ids", a, b, err1, err2)
	}
	for _, id := range []string{a, b} {
		if !wire.ValidRecordID(id) {
			t.Fatalf("%q is not a valid record id", id)
		}
	}
}
