package integrity

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/jobtech-dev/datahub/internal/atomicfile"
)

// FileName is the record's file in the data dir.
const FileName = "integrity.json"

// Bucket is the KV bucket holding a copy of the record. Its own stream is
// neither compared nor backed up: it describes this data dir.
const Bucket = "hub_streamstate"

// BucketStream is Bucket's stream.
const BucketStream = "KV_" + Bucket

// recordKey is the record's key in Bucket.
const recordKey = "record"

// recordVersion is the record's format.
const recordVersion = 1

// StreamState is what the record keeps of one stream.
type StreamState struct {
	FirstSeq uint64    `json:"first_seq"`
	LastSeq  uint64    `json:"last_seq"`
	Msgs     uint64    `json:"msgs"`
	Bytes    uint64    `json:"bytes"`
	Subjects uint64    `json:"subjects"`
	LastTime time.Time `json:"last_time,omitzero"`
	// MaxAge, Sized and PerSubject are the stream's limits: messages older
	// than MaxAge go; Sized means a total count or size limit; PerSubject a
	// limit of messages per subject (KV history, max_per_key).
	MaxAge     time.Duration `json:"max_age,omitempty"`
	Sized      bool          `json:"sized,omitempty"`
	PerSubject bool          `json:"per_subject,omitempty"`
}

// keepsAll reports whether the stream's limits never remove a message.
func (s StreamState) keepsAll() bool { return s.MaxAge == 0 && !s.Sized && !s.PerSubject }

// StateOf is the record's view of a stream's info.
func StateOf(info *jetstream.StreamInfo) StreamState {
	c, st := info.Config, info.State
	return StreamState{
		FirstSeq: st.FirstSeq, LastSeq: st.LastSeq, Msgs: st.Msgs, Bytes: st.Bytes,
		Subjects: st.NumSubjects, LastTime: st.LastTime,
		MaxAge: c.MaxAge, Sized: c.MaxMsgs > 0 || c.MaxBytes > 0, PerSubject: c.MaxMsgsPerSubject > 0,
	}
}

// Record is what the hub last knew of its streams, and the findings not yet
// acknowledged.
type Record struct {
	Version int `json:"version"`
	// Generation grows with every write; at start the newer of the file
	// and the bucket copy wins.
	Generation uint64    `json:"generation"`
	WrittenAt  time.Time `json:"written_at"`
	// Clean says the record was written by a clean shutdown.
	Clean    bool                   `json:"clean"`
	Streams  map[string]StreamState `json:"streams"`
	Findings []Finding              `json:"findings,omitempty"`
}

// envelope is the file: the record and the SHA-256 of its JSON.
type envelope struct {
	Record json.RawMessage `json:"record"`
	SHA256 string          `json:"sha256"`
}

func encodeRecord(r Record) ([]byte, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(b)
	return json.MarshalIndent(envelope{Record: b, SHA256: hex.EncodeToString(sum[:])}, "", "  ")
}

// errBadRecord is a record that does not decode or whose checksum is wrong.
var errBadRecord = errors.New("stream-state record damaged")

func decodeRecord(b []byte) (Record, error) {
	var env envelope
	if err := json.Unmarshal(b, &env); err != nil {
		return Record{}, fmt.Errorf("%w: %v", errBadRecord, err)
	}
	// The file is indented for people; the checksum is over the compact
	// JSON the record was marshalled to.
	var buf bytes.Buffer
	if err := json.Compact(&buf, env.Record); err != nil {
		return Record{}, fmt.Errorf("%w: %v", errBadRecord, err)
	}
	compact := buf.Bytes()
	sum := sha256.Sum256(compact)
	if hex.EncodeToString(sum[:]) != env.SHA256 {
		return Record{}, fmt.Errorf("%w: checksum does not match", errBadRecord)
	}
	var r Record
	if err := json.Unmarshal(compact, &r); err != nil {
		return Record{}, fmt.Errorf("%w: %v", errBadRecord, err)
	}
	if r.Version != recordVersion {
		return Record{}, fmt.Errorf("%w: version %d, want %d", errBadRecord, r.Version, recordVersion)
	}
	if r.Streams == nil {
		r.Streams = map[string]StreamState{}
	}
	return r, nil
}

// readFile reads the record file in dataDir; a missing file is fs.ErrNotExist.
func readFile(dataDir string) (Record, error) {
	path := filepath.Join(dataDir, FileName)
	b, err := os.ReadFile(path)
	if err != nil {
		return Record{}, err
	}
	r, err := decodeRecord(b)
	if err != nil {
		return Record{}, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}

// WriteFile writes r as the record file of dataDir, atomically (restore
// writes the first record of a restored data dir this way).
func WriteFile(dataDir string, r Record) error {
	r.Version = recordVersion
	b, err := encodeRecord(r)
	if err != nil {
		return fmt.Errorf("encode stream-state record: %w", err)
	}
	return atomicfile.Write(filepath.Join(dataDir, FileName), b, 0o600)
}

// readCopy reads the record's copy in the bucket, if the bucket exists.
func readCopy(ctx context.Context, js jetstream.JetStream) (Record, error) {
	kv, err := js.KeyValue(ctx, Bucket)
	if err != nil {
		if errors.Is(err, jetstream.ErrBucketNotFound) {
			return Record{}, fs.ErrNotExist
		}
		return Record{}, fmt.Errorf("stream-state bucket %s: %w", Bucket, err)
	}
	e, err := kv.Get(ctx, recordKey)
	if err != nil {
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			return Record{}, fs.ErrNotExist
		}
		return Record{}, fmt.Errorf("stream-state bucket %s: %w", Bucket, err)
	}
	r, err := decodeRecord(e.Value())
	if err != nil {
		return Record{}, fmt.Errorf("stream-state bucket %s: %w", Bucket, err)
	}
	return r, nil
}

// CurrentStates reads the state of every stream but the record's own bucket.
func CurrentStates(ctx context.Context, js jetstream.JetStream) (map[string]StreamState, error) {
	out := map[string]StreamState{}
	names := js.StreamNames(ctx)
	for name := range names.Name() {
		if name == BucketStream {
			continue
		}
		s, err := js.Stream(ctx, name)
		if err != nil {
			if errors.Is(err, jetstream.ErrStreamNotFound) {
				continue
			}
			return nil, fmt.Errorf("stream %s: %w", name, err)
		}
		out[name] = StateOf(s.CachedInfo())
	}
	if err := names.Err(); err != nil {
		return nil, fmt.Errorf("list streams: %w", err)
	}
	return out, nil
}
