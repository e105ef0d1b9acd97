package registry

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSchemaMustStayInItsFolder(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "outside.schema.json"), []byte(`{"type":"object"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "schemas", "ads")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	decl := "name: ads\nowner: af\nkey: id\nschema_version: 1\nschema: ../../outside.schema.json\n"
	if err := os.WriteFile(filepath.Join(dir, "dataset.yaml"), []byte(decl), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := LoadDir(filepath.Join(root, "schemas"))
	if err == nil || !strings.Contains(err.Error(), "inside the dataset's folder") || !strings.Contains(err.Error(), "dataset.yaml") {
		t.Fatalf("schema outside schemas/: %v", err)
	}
}
