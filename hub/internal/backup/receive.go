package backup

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"os"
	"path/filepath"

	"github.com/jobtech-dev/datahub/internal/atomicfile"
)

// Receive writes the backup body (multipart, with boundary) to the folder
// dir, which must not exist or be empty. It writes into a temporary folder
// beside dir and renames it to dir only once the manifest arrived and every
// snapshot matched it, so dir never holds half a backup. Files are 0600 and
// folders 0700: a backup holds every record.
func Receive(body io.Reader, boundary, dir string) (Manifest, error) {
	if err := checkEmpty(dir); err != nil {
		return Manifest{}, err
	}
	parent, base := filepath.Split(filepath.Clean(dir))
	if parent == "" {
		parent = "."
	}
	if err := os.MkdirAll(parent, 0o700); err != nil {
		return Manifest{}, fmt.Errorf("backup folder %s: %w", dir, err)
	}
	tmp, err := os.MkdirTemp(parent, "."+base+".partial-")
	if err != nil {
		return Manifest{}, fmt.Errorf("backup folder %s: %w", dir, err)
	}
	defer os.RemoveAll(tmp) // harmless after the rename
	if err := os.Mkdir(filepath.Join(tmp, streamsDir), 0o700); err != nil {
		return Manifest{}, err
	}
	type got struct {
		bytes int64
		sum   string
	}
	files := map[string]got{}
	mr := multipart.NewReader(body, boundary)
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return Manifest{}, fmt.Errorf("%w: the hub's answer ended before the manifest (%d stream snapshots received)", ErrIncomplete, len(files))
		}
		if err != nil {
			return Manifest{}, fmt.Errorf("%w: %v", ErrIncomplete, err)
		}
		switch p.Header.Get(HeaderPart) {
		case "stream":
			name := p.Header.Get(HeaderStream)
			if !validStreamName(name) {
				return Manifest{}, fmt.Errorf("backup: part names stream %q: not a stream name", name)
			}
			n, sum, err := writeSynced(filepath.Join(tmp, filepath.FromSlash(snapshotFile(name))), p)
			if err != nil {
				return Manifest{}, fmt.Errorf("backup: stream %s: %w", name, err)
			}
			files[name] = got{n, sum}
		case "error":
			b, _ := io.ReadAll(io.LimitReader(p, 64<<10))
			return Manifest{}, fmt.Errorf("the hub failed the backup: %s", b)
		case "manifest":
			b, err := io.ReadAll(io.LimitReader(p, 64<<20))
			if err != nil {
				return Manifest{}, fmt.Errorf("%w: manifest: %v", ErrIncomplete, err)
			}
			var m Manifest
			if err := json.Unmarshal(b, &m); err != nil {
				return Manifest{}, fmt.Errorf("%w: manifest: %v", ErrIncomplete, err)
			}
			if len(m.Streams) != len(files) {
				return Manifest{}, fmt.Errorf("%w: the manifest names %d streams, %d snapshots were received", ErrIncomplete, len(m.Streams), len(files))
			}
			for _, s := range m.Streams {
				g, ok := files[s.Name]
				if !ok || g.bytes != s.Bytes || g.sum != s.SHA256 {
					return Manifest{}, fmt.Errorf("%w: stream %s: received %d bytes (SHA-256 %.12s…), the manifest says %d (%.12s…)", ErrIncomplete, s.Name, g.bytes, g.sum, s.Bytes, s.SHA256)
				}
			}
			if err := atomicfile.Write(filepath.Join(tmp, ManifestFile), b, 0o600); err != nil {
				return Manifest{}, err
			}
			if err := atomicfile.SyncDir(filepath.Join(tmp, streamsDir)); err != nil {
				return Manifest{}, err
			}
			_ = os.Remove(dir) // empty (checked), or absent
			if err := os.Rename(tmp, dir); err != nil {
				return Manifest{}, fmt.Errorf("backup folder %s: %w", dir, err)
			}
			if err := atomicfile.SyncDir(parent); err != nil {
				return Manifest{}, err
			}
			return m, nil
		default:
			return Manifest{}, fmt.Errorf("backup: unknown part %q: is this a hub backup?", p.Header.Get(HeaderPart))
		}
	}
}

// writeSynced copies r to a new file at path (0600), fsynced, and returns
// its size and hex SHA-256.
func writeSynced(path string, r io.Reader) (int64, string, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return 0, "", err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), r)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return n, hex.EncodeToString(h.Sum(nil)), err
}

// checkEmpty accepts a folder that does not exist or is empty.
func checkEmpty(dir string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("%s: %w", dir, err)
	case len(entries) > 0:
		return fmt.Errorf("%s is not empty: give a new folder (nothing is overwritten)", dir)
	}
	return nil
}

// verifyFiles checks every snapshot of the backup folder dir against m.
func verifyFiles(dir string, m Manifest) error {
	for _, s := range m.Streams {
		path := filepath.Join(dir, filepath.FromSlash(s.File))
		f, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("backup %s: stream %s: %w", dir, s.Name, err)
		}
		h := sha256.New()
		n, err := io.Copy(h, f)
		f.Close()
		if err != nil {
			return fmt.Errorf("backup %s: stream %s: %w", dir, s.Name, err)
		}
		if sum := hex.EncodeToString(h.Sum(nil)); n != s.Bytes || sum != s.SHA256 {
			return fmt.Errorf("backup %s: %s is damaged: %d bytes (SHA-256 %.12s…), the manifest says %d (%.12s…)", dir, s.File, n, sum, s.Bytes, s.SHA256)
		}
	}
	return nil
}
