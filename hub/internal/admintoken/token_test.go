package admintoken

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/jobtech-dev/datahub/internal/secretfile"
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
	if _, err := Find(dir, nil); err == nil {
		t.Fatal("found a token in an empty dir")
	}
	tok, _ := LoadOrCreate(dir)
	if got, err := Find(dir, nil); err != nil || got != tok {
		t.Fatalf("Find = %q %v", got, err)
	}
	t.Setenv(EnvVar, " from-env ")
	if got, _ := Find(dir, nil); got != "from-env" {
		t.Fatalf("HUB_TOKEN not preferred: %q", got)
	}
	empty := t.TempDir()
	if err := os.WriteFile(filepath.Join(empty, FileName), []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvVar, "")
	if _, err := Find(empty, nil); err == nil {
		t.Fatal("an empty token file was accepted")
	}
}

func TestFindJudgesPermissions(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("permissions are not mode bits on Windows")
	}
	t.Setenv(EnvVar, "")
	dir := t.TempDir()
	tok, err := LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, FileName)
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Find(dir, nil); !errors.Is(err, secretfile.ErrReadableByOthers) || !strings.Contains(err.Error(), "chmod 600 "+path) {
		t.Fatalf("world-readable token: %v, want a refusal saying chmod 600 %s", err, path)
	}
	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	var logged bytes.Buffer
	if got, err := Find(dir, slog.New(slog.NewTextHandler(&logged, nil))); err != nil || got != tok {
		t.Fatalf("group-readable token: %q %v, want it read", got, err)
	}
	if !strings.Contains(logged.String(), "readable by its group") {
		t.Fatalf("group-readable token not warned about: %q", logged.String())
	}
}
