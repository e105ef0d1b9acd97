package schema

import (
	"errors"
	"strings"
	"testing"
)

func TestRefCycleRefusedAtCompile(t *testing.T) {
	_, err := Compile("cycle.json", []byte(`{"$ref":"#"}`), nil)
	if !errors.Is(err, ErrInvalidSchema) || !strings.Contains(err.Error(), "cycle") {
		t.Fatalf("self-referencing schema: %v", err)
	}
	// A recursive schema without a cycle through the root is fine.
	if _, err := Compile("tree.json", []byte(`{"type":"object","properties":{"child":{"$ref":"#"}}}`), nil); err != nil {
		t.Fatalf("recursive schema refused: %v", err)
	}
}
