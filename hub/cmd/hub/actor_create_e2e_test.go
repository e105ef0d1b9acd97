package main_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// `hub actor create --out` onto a path that cannot be written once left an
// actor on the hub whose seed was gone. The credentials are written first
// now, and a registration the hub refuses leaves no file behind.
func TestActorCreateWritesCredentialsFirst(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	h := serve(t, data)
	common := []string{"--hub-url", h.httpURL, "--data", data}

	unwritable := filepath.Join(t.TempDir(), "no", "such", "folder", "orphan.nk")
	out, errOut, code := run(t, nil, append([]string{"actor", "create", "orphan", "--out", unwritable}, common...)...)
	if code == 0 || !strings.Contains(errOut, "not created") {
		t.Fatalf("actor create onto an unwritable path: exit %d %s%s", code, out, errOut)
	}
	out, _, _ = run(t, nil, append([]string{"actor", "list"}, common...)...)
	if strings.Contains(out, "orphan") {
		t.Fatalf("an actor without credentials was registered:\n%s", out)
	}

	first := filepath.Join(t.TempDir(), "dup.nk")
	if out, errOut, code := run(t, nil, append([]string{"actor", "create", "dup", "--out", first}, common...)...); code != 0 {
		t.Fatalf("actor create: %d %s%s", code, out, errOut)
	}
	second := filepath.Join(t.TempDir(), "dup.nk")
	if _, _, code := run(t, nil, append([]string{"actor", "create", "dup", "--out", second}, common...)...); code == 0 {
		t.Fatal("a second actor with the same name was created")
	}
	if _, err := os.Stat(second); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("credentials of a refused registration left behind: %v", err)
	}
	if _, err := os.Stat(first); err != nil {
		t.Fatalf("the first actor's credentials: %v", err)
	}
}
