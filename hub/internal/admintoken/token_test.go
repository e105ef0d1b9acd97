package admintoken

import (
	"os"
	"path/filepath"
	"testing"
)

func TestLoadOrCreate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	tok, err := LoadOrCreate(dir)
	if err != nil || len(tok) != 64 {
		t.Fatalf("token %q, %v", tok, err)
	}
	fi, err := os.Stat(filepath.Join(dir, FileName))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file %v %v, want mode 0600", fi, err)
	}
	again, err := LoadOrCreate(dir)
	if err != nil || again != tok {
		t.Fatalf("second start made a new token: %q %v", again, err)
	}
	if !Equal(tok, again) || Equal(tok, tok+"x") || Equal(tok, "") {
		t.Fatal("Equal is wrong")
	}
}

func TestFind(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(EnvVar, "")
	if _, err := Find(dir); err == nil {
		t.Fatal("found a token in an empty dir")
	}
	tok, _ := LoadOrCreate(dir)
	if got, err := Find(dir); err != nil || got != tok {
		t.Fatalf("Find = %q %v", got, err)
	}
	t.Setenv(EnvVar, " from-env ")
	if got, _ := Find(dir); got != "from-env" {
		t.Fatalf("HUB_TOKEN not preferred: %q", got)
	}
	empty := t.TempDir()
	if err := os.WriteFile(filepath.Join(empty, FileName), []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvVar, "")
	if _, err := Find(empty); err == nil {
		t.Fatal("an empty token file was accepted")
	}
}
