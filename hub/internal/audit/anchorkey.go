package audit

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/nats-io/nkeys"
)

// LoadOrCreateKey returns the anchor key kept in path, creating it (a new
// Ed25519 nkey, mode 0600, missing folders 0700) when the file does not
// exist; created reports that it did. The file holds the key's seed line
// (SN…) and comment lines. A file that others may read or write is refused
// (ErrInvalidKey): whoever reads it can sign anchors, seals and checkpoints.
// The hub's user may be given read access through the file's group (0640).
func LoadOrCreateKey(path string) (kp nkeys.KeyPair, created bool, err error) {
	kp, err = loadKey(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return kp, false, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, false, fmt.Errorf("create audit anchor key %s: %w", path, err)
	}
	kp, err = nkeys.CreateServer()
	if err != nil {
		return nil, false, fmt.Errorf("generate audit anchor key: %w", err)
	}
	seed, _ := kp.Seed()
	pub, _ := kp.PublicKey()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, false, fmt.Errorf("create audit anchor key %s: %w", path, err)
	}
	_, err = fmt.Fprintf(f, "# JobTech Data Hub audit anchor key, public key %s.\n# It signs the audit log's anchors, seals and checkpoints: keep it outside the data dir.\n%s\n", pub, seed)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(path)
		return nil, false, fmt.Errorf("write audit anchor key %s: %w", path, err)
	}
	return kp, true, nil
}

func loadKey(path string) (nkeys.KeyPair, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("audit anchor key: %w", err)
	}
	if perm := fi.Mode().Perm(); perm&0o007 != 0 {
		return nil, fmt.Errorf("%w: %s has mode %04o, others may read or change it: chmod 600 %s (or 640 with the hub's group)", ErrInvalidKey, path, perm, path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("audit anchor key: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		kp, err := nkeys.FromSeed([]byte(line))
		if err != nil {
			return nil, fmt.Errorf("%w: %s:%d: not an nkey seed: %v", ErrInvalidKey, path, n, err)
		}
		return kp, nil
	}
	return nil, fmt.Errorf("%w: %s holds no seed line", ErrInvalidKey, path)
}
