package backup

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
)

// Format is the backup layout's version.
const Format = 1

// ManifestFile is the manifest's name in a backup folder.
const ManifestFile = "manifest.json"

// streamsDir holds the snapshots in a backup folder.
const streamsDir = "streams"

// Manifest describes a backup.
type Manifest struct {
	Format int `json:"format"`
	// Hub is the name of the hub backed up.
	Hub string `json:"hub"`
	// Started is when the backup began: every record acknowledged before
	// it is in the backup. Finished is when the last snapshot ended.
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	Streams  []Stream  `json:"streams"`
}

// Stream is one stream's snapshot in a backup.
type Stream struct {
	Name string `json:"name"`
	// Kind says what the stream holds: dataset, deadletter, audit, bucket
	// or other.
	Kind string `json:"kind"`
	// File is the snapshot's path in the backup folder.
	File string `json:"file"`
	// Bytes and SHA256 are the snapshot file's size and hex SHA-256.
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
	// Msgs, FirstSeq and LastSeq are the stream's state when its snapshot
	// began, as the snapshot holds it.
	Msgs     uint64 `json:"msgs"`
	FirstSeq uint64 `json:"first_seq"`
	LastSeq  uint64 `json:"last_seq"`
	// Config and State are the server's own (JSON), handed back to it at
	// restore.
	Config json.RawMessage `json:"config"`
	State  json.RawMessage `json:"state"`
}

// kindOf says what a stream holds.
func kindOf(name string) string {
	switch {
	case strings.HasPrefix(name, wire.StreamName("")):
		return "dataset"
	case name == wire.DeadLetterStream:
		return "deadletter"
	case name == auditStream:
		return "audit"
	case strings.HasPrefix(name, "KV_"):
		return "bucket"
	}
	return "other"
}

// ReadManifest reads and checks the manifest of the backup folder dir.
func ReadManifest(dir string) (Manifest, error) {
	path := filepath.Join(dir, ManifestFile)
	b, err := os.ReadFile(path)
	if err != nil {
		return Manifest{}, fmt.Errorf("backup %s: %w (a backup folder holds %s and %s/)", dir, err, ManifestFile, streamsDir)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return Manifest{}, fmt.Errorf("backup manifest %s: %w", path, err)
	}
	if m.Format != Format {
		return Manifest{}, fmt.Errorf("backup manifest %s: format %d, this hub reads format %d", path, m.Format, Format)
	}
	for i, s := range m.Streams {
		if !validStreamName(s.Name) || s.File != snapshotFile(s.Name) || len(s.Config) == 0 {
			return Manifest{}, fmt.Errorf("backup manifest %s: stream %d (%q) is not a stream of this format", path, i, s.Name)
		}
	}
	return m, nil
}

// snapshotFile is the folder-relative path of stream's snapshot.
func snapshotFile(stream string) string { return streamsDir + "/" + stream + ".snap" }

// validStreamName accepts the names JetStream gives streams, and nothing
// that could leave the backup folder.
func validStreamName(name string) bool {
	if name == "" || len(name) > 255 || name == "." || name == ".." {
		return false
	}
	return !strings.ContainsAny(name, "/\\ \t\r\n.*>\x00")
}
