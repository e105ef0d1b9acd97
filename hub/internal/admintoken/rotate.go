package admintoken

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/jobtech-dev/datahub/internal/atomicfile"
)

// Keeper holds the admin token in force. A rotation takes effect at once:
// from the moment [Keeper.Rotate] returns, the new token is accepted and
// the old one refused. Its methods are safe for concurrent use.
type Keeper struct {
	path string
	mu   sync.Mutex // serialises rotations
	cur  atomic.Pointer[string]
}

// NewKeeper keeps tok, the token of the data dir dataDir (from [LoadOrCreate]).
func NewKeeper(dataDir, tok string) *Keeper {
	k := &Keeper{path: filepath.Join(dataDir, FileName)}
	k.cur.Store(&tok)
	return k
}

// NewFileKeeper keeps tok, read from the token file path (a cluster's
// admin_token_file). The hub does not rotate such a token through its API:
// every node reads the same file.
func NewFileKeeper(path, tok string) *Keeper {
	k := &Keeper{path: path}
	k.cur.Store(&tok)
	return k
}

// Path is the token's file.
func (k *Keeper) Path() string { return k.path }

// Token is the token in force.
func (k *Keeper) Token() string { return *k.cur.Load() }

// Valid reports whether tok is the token in force (in constant time).
func (k *Keeper) Valid(tok string) bool { return Equal(tok, k.Token()) }

// Rotate makes a new token and writes it to the data dir (atomically, mode
// 0600), then calls commit with it; only when commit succeeds (the hub
// audits the rotation there) does the new token take effect — the old one
// is refused from then on. When commit fails, the file gets the old token
// back and nothing changed.
func (k *Keeper) Rotate(commit func(newToken string) error) (string, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	tok, err := generate()
	if err != nil {
		return "", err
	}
	old := k.Token()
	if err := WriteFile(k.path, tok); err != nil {
		return "", err
	}
	if err := commit(tok); err != nil {
		if werr := WriteFile(k.path, old); werr != nil {
			return "", fmt.Errorf("%w; and restoring the old token in %s failed: %v (the old token stays in force until a restart)", err, k.path, werr)
		}
		return "", err
	}
	k.cur.Store(&tok)
	return tok, nil
}

// WriteFile writes tok to path atomically with mode 0600: a crash leaves
// the old token or the new one, never half of one.
func WriteFile(path, tok string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("write admin token %s: %w", path, err)
	}
	if err := atomicfile.Write(path, []byte(strings.TrimSpace(tok)+"\n"), 0o600); err != nil {
		return fmt.Errorf("write admin token: %w", err)
	}
	return nil
}

// Fingerprint names a token without revealing it (the first 12 hex digits
// of its SHA-256), for the audit log and the CLI.
func Fingerprint(tok string) string {
	sum := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(sum[:6])
}

func generate() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate admin token: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// FindFile is [Find] that also says where the token came from: the file's
// path, or "" when it came from HUB_TOKEN.
func FindFile(dataDir string, log *slog.Logger) (tok, path string, err error) {
	if tok := strings.TrimSpace(os.Getenv(EnvVar)); tok != "" {
		return tok, "", nil
	}
	tok, err = Find(dataDir, log)
	if err != nil {
		return "", "", err
	}
	return tok, filepath.Join(dataDir, FileName), nil
}
