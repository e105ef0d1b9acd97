package datasets

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jobtech-dev/datahub/hub/internal/registry"
)

// A folder read ahead gives what it held when the read began, once; a
// retried start step reads it again, as it did before there was a read
// ahead (an apply may keep the datasets it is given), and a folder that
// does not load gives the registry's error, naming the file.
func TestFolderReadAheadOnceThenReadAgain(t *testing.T) {
	t.Parallel()
	all, err := registry.ReadDir(filepath.Join("..", "..", "..", "schemas"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for p, b := range all {
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, p), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	decl := filepath.Join(dir, "jobads", "dataset.yaml")
	f := ReadFolder(dir)
	f.Wait()
	b, err := os.ReadFile(decl)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(decl, []byte(strings.Replace(string(b), "title: Job ads", "title: Ads", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	title := func(ds []*registry.Dataset, err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range ds {
			if d.Name == "jobads" {
				return d.Title
			}
		}
		t.Fatal("no jobads in the folder")
		return ""
	}
	if got := title(f.load(nil)); got != "Job ads" {
		t.Fatalf("first use: title %q, want the one read ahead (Job ads)", got)
	}
	if got := title(f.load(nil)); got != "Ads" {
		t.Fatalf("second use: title %q, want the folder read again (Ads)", got)
	}

	if err := os.WriteFile(decl, append(b, "colour: red\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = ReadFolder(dir).load(nil)
	if !errors.Is(err, registry.ErrInvalidDeclaration) || !strings.Contains(err.Error(), "dataset.yaml") || !strings.Contains(err.Error(), "colour") {
		t.Fatalf("a bad folder read ahead: %v, want the declaration error naming the file and field", err)
	}

	none := ReadFolder("")
	none.Wait() // nothing to wait for
	if none.Dir() != "" {
		t.Fatalf("Dir() = %q", none.Dir())
	}
}
