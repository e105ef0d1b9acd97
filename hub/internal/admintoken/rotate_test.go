package admintoken

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRotate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	old, err := LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	k := NewKeeper(dir, old)
	var committed string
	tok, err := k.Rotate(func(tok string) error {
		// The new token is on disk before it takes effect, and not yet in force.
		if b, _ := os.ReadFile(filepath.Join(dir, FileName)); strings.TrimSpace(string(b)) != tok || k.Valid(tok) || !k.Valid(old) {
			t.Errorf("during commit: file %q, new valid %v, old valid %v", b, k.Valid(tok), k.Valid(old))
		}
		committed = tok
		return nil
	})
	if err != nil || tok != committed || len(tok) != 64 {
		t.Fatalf("rotate: %q %v", tok, err)
	}
	if !k.Valid(tok) || k.Valid(old) || k.Token() != tok {
		t.Fatal("after the rotation the old token is still valid, or the new one is not")
	}
	if got, _ := LoadOrCreate(dir); got != tok {
		t.Fatalf("a restart would load %q, want the new token", got)
	}
	if fi, err := os.Stat(filepath.Join(dir, FileName)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file %v %v, want mode 0600", fi, err)
	}

	// A failed commit changes nothing, on disk or in force.
	boom := errors.New("audit log unavailable")
	if _, err := k.Rotate(func(string) error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("failed commit: %v", err)
	}
	if !k.Valid(tok) {
		t.Fatal("a failed rotation changed the token in force")
	}
	if got, _ := LoadOrCreate(dir); got != tok {
		t.Fatalf("a failed rotation left %q on disk", got)
	}
	if Fingerprint(tok) == Fingerprint(old) || len(Fingerprint(tok)) != 12 {
		t.Fatal("fingerprints do not tell tokens apart")
	}
}
