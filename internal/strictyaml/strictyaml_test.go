package strictyaml_test

import (
	"errors"
	"testing"

	"github.com/goccy/go-yaml"

	"github.com/jobtech-dev/datahub/internal/strictyaml"
)

// taggedList is the input FuzzLoad found: go-yaml panics decoding it into
// a list. If a go-yaml release stops panicking on it, the test still
// passes as long as the document is refused or decoded without a crash.
const taggedList = "items: !x a\n"

type doc struct {
	Items []string `yaml:"items"`
}

func TestPanicOfTheDecoderIsAnError(t *testing.T) {
	t.Parallel()
	for name, decode := range map[string]func([]byte, any, ...yaml.DecodeOption) error{
		"Decode": strictyaml.Decode, "Unmarshal": strictyaml.Unmarshal,
	} {
		var d doc
		err := decode([]byte(taggedList), &d, yaml.DisallowUnknownField())
		if err == nil {
			t.Fatalf("%s: %q decoded into a list without an error: %+v", name, taggedList, d)
		}
		if !errors.Is(err, strictyaml.ErrDecoder) {
			t.Logf("%s: refused without a decoder panic (go-yaml no longer panics here): %v", name, err)
		}
	}
}

func TestValidDocumentsDecode(t *testing.T) {
	t.Parallel()
	var d doc
	if err := strictyaml.Decode([]byte("items: [a, b]\n"), &d, yaml.DisallowUnknownField()); err != nil || len(d.Items) != 2 {
		t.Fatalf("Decode: %v %+v", err, d)
	}
	var u doc
	if err := strictyaml.Unmarshal([]byte("items:\n  - c\n"), &u, yaml.Strict()); err != nil || len(u.Items) != 1 {
		t.Fatalf("Unmarshal: %v %+v", err, u)
	}
	if err := strictyaml.Decode([]byte("nope: 1\n"), &d, yaml.DisallowUnknownField()); err == nil {
		t.Fatal("an unknown field decoded without an error")
	}
}
