package secretfile

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestReadJudgesPermissions(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("permissions are not mode bits on Windows")
	}
	t.Parallel()
	for _, tc := range []struct {
		mode    os.FileMode
		refused bool
		warned  bool
	}{
		{0o600, false, false},
		{0o400, false, false},
		{0o640, false, true},
		{0o440, false, true},
		{0o644, true, false},
		{0o604, true, false},
	} {
		path := filepath.Join(t.TempDir(), "actor.nk")
		if err := os.WriteFile(path, []byte("secret"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, tc.mode); err != nil {
			t.Fatal(err)
		}
		var logged bytes.Buffer
		b, err := Read(path, "credentials file", slog.New(slog.NewTextHandler(&logged, nil)))
		switch {
		case tc.refused:
			if !errors.Is(err, ErrReadableByOthers) || !strings.Contains(err.Error(), "chmod 600 "+path) {
				t.Errorf("mode %04o: err %v, want a refusal saying chmod 600 %s", tc.mode, err, path)
			}
		case err != nil || string(b) != "secret":
			t.Errorf("mode %04o: %q %v", tc.mode, b, err)
		}
		if warned := strings.Contains(logged.String(), "readable by its group"); warned != tc.warned {
			t.Errorf("mode %04o: warned %v, want %v (log %q)", tc.mode, warned, tc.warned, logged.String())
		}
	}
}

func TestReadMissingFile(t *testing.T) {
	t.Parallel()
	_, err := Read(filepath.Join(t.TempDir(), "none.nk"), "credentials file", nil)
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "credentials file") {
		t.Fatalf("err %v", err)
	}
}
