// Package admintoken creates and finds the secret that guards the hub's admin
// API. The hub writes it into its data dir at first start, readable only by
// its owner, so whoever runs the hub (and nobody else on the machine) can
// administer it without any set-up. A [Keeper] holds the token in force and
// rotates it: the new token is written to the data dir first (atomically,
// 0600), then takes effect at once, and the old one is refused from then on.
package admintoken

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/jobtech-dev/datahub/internal/secretfile"
)

// FileName is the token's file inside the data dir.
const FileName = "admin.token"

// EnvVar overrides the token file for the CLI.
const EnvVar = "HUB_TOKEN"

// LoadOrCreate returns the token in dataDir, creating it (mode 0600) if absent.
func LoadOrCreate(dataDir string) (string, error) {
	path := filepath.Join(dataDir, FileName)
	if tok, err := read(path); err == nil {
		return tok, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return "", fmt.Errorf("create data dir %s: %w", dataDir, err)
	}
	tok, err := generate()
	if err != nil {
		return "", err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", fmt.Errorf("create admin token %s: %w", path, err)
	}
	if _, err := f.WriteString(tok + "\n"); err != nil {
		f.Close()
		return "", fmt.Errorf("write admin token %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("write admin token %s: %w", path, err)
	}
	return tok, nil
}

// Find returns the token for the CLI: HUB_TOKEN if set, else the file in
// dataDir. A token file other users can read is refused (the error says
// `chmod 600 FILE`); one its group can read is warned about on log.
func Find(dataDir string, log *slog.Logger) (string, error) {
	if tok := strings.TrimSpace(os.Getenv(EnvVar)); tok != "" {
		return tok, nil
	}
	path := filepath.Join(dataDir, FileName)
	b, err := secretfile.Read(path, "admin token file", log)
	if errors.Is(err, secretfile.ErrReadableByOthers) {
		return "", err
	}
	if err != nil {
		return "", fmt.Errorf("no admin token: set %s or point --data at the hub's data dir: %w", EnvVar, err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", fmt.Errorf("admin token file %s is empty", path)
	}
	return tok, nil
}

func read(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read admin token: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", fmt.Errorf("admin token file %s is empty", path)
	}
	return tok, nil
}

// Equal compares tokens in constant time.
func Equal(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
