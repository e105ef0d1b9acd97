package wire

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Headers the hub sets on every stored record. Publishers cannot set them: the
// hub builds a stored record's headers from scratch, so a forged Hub-Publisher
// on an ingest request never reaches the stream.
const (
	// HeaderRecordID holds the record's envelope id, unique across
	// publishers and hubs: see [EnvelopeID]. JetStream dedupes on it, so one
	// publisher's record ids never collide with another's.
	HeaderRecordID = "Nats-Msg-Id"
	// HeaderPublisherRecordID holds the record id as its publisher gave it
	// (or as the hub made it): unique only per origin and publisher.
	HeaderPublisherRecordID = "Hub-Record-Id"
	HeaderDataset           = "Hub-Dataset"
	HeaderKey               = "Hub-Key"
	HeaderSchemaVersion     = "Hub-Schema-Version"
	HeaderPublisher         = "Hub-Publisher"
	HeaderOrigin            = "Hub-Origin"
	HeaderTombstone         = "Hub-Tombstone"
)

// Headers a publisher may set on an ingest request.
const (
	// RequestRecordID lets a publisher choose the record id, which makes a
	// retry after a lost reply safe: the hub stores the record once.
	RequestRecordID = "Hub-Record-Id"
	// RequestSchemaVersion pins the schema version (its number, in digits)
	// a record is validated against; without it the dataset's latest
	// version applies. The stored record's Hub-Schema-Version names the
	// version it was validated against either way.
	RequestSchemaVersion = "Hub-Schema-Version"
)

// Headers on a dead-lettered record.
const (
	HeaderReason     = "Hub-Reason"
	HeaderViolations = "Hub-Violations"
	HeaderRejectedAt = "Hub-Rejected-At"
	HeaderSubject    = "Hub-Subject"
)

// MaxRecordIDLen bounds publisher-chosen record ids.
const MaxRecordIDLen = 128

// ValidRecordID reports whether id may be used as a record id: 1 to
// MaxRecordIDLen printable ASCII characters without spaces.
func ValidRecordID(id string) bool {
	if id == "" || len(id) > MaxRecordIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] <= ' ' || id[i] > '~' {
			return false
		}
	}
	return true
}

// EnvelopeID is a stored record's id as every API returns it:
// "<origin>:<publisher>:<record id>". Origin and publisher are names
// ([ValidName]: no colon), so the parts are read back from the left.
// JetStream dedupes on it, which makes deduplication per publisher: another
// actor using the same record id stores a different record.
func EnvelopeID(origin, publisher, recordID string) string {
	return origin + ":" + publisher + ":" + recordID
}

// SplitEnvelopeID returns the parts of an [EnvelopeID].
func SplitEnvelopeID(id string) (origin, publisher, recordID string, ok bool) {
	origin, rest, ok1 := strings.Cut(id, ":")
	publisher, recordID, ok2 := strings.Cut(rest, ":")
	return origin, publisher, recordID, ok1 && ok2 && origin != "" && publisher != "" && recordID != ""
}

// Envelope is how every API returns a stored record: the payload as published
// plus the metadata the hub stamped on it.
//
// ID is unique across publishers and hubs ([EnvelopeID]: origin, publisher
// and the publisher's record id), so a consumer can de-duplicate on it alone;
// RecordID is the id the publisher gave the record. Path lists the hubs a
// federated record crossed, origin first and this hub last; it is empty for
// a record stored on its origin hub.
type Envelope struct {
	ID            string          `json:"id"`
	RecordID      string          `json:"record_id,omitempty"`
	Dataset       string          `json:"dataset"`
	Key           string          `json:"key"`
	Seq           uint64          `json:"seq"`
	SchemaVersion int             `json:"schema_version"`
	Publisher     string          `json:"publisher"`
	Origin        string          `json:"origin"`
	PublishedAt   time.Time       `json:"published_at"`
	Tombstone     bool            `json:"tombstone,omitempty"`
	Path          []string        `json:"path,omitempty"`
	Data          json.RawMessage `json:"data"`
}

// EnvelopeFromMsg builds the envelope of a stored record from its headers,
// payload, stream sequence and stream timestamp. The publish time is the
// time JetStream stored the record, so reading "since T" returns exactly the
// records whose published_at is at or after T.
//
// h is the message's headers (a nats.Header converts as it is): taking the
// plain map keeps this package free of any dependency.
func EnvelopeFromMsg(h map[string][]string, data []byte, seq uint64, stored time.Time) (Envelope, error) {
	get := func(k string) string {
		if v := h[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	e := Envelope{
		PublishedAt: stored.UTC(),
		ID:          get(HeaderRecordID),
		RecordID:    get(HeaderPublisherRecordID),
		Dataset:     get(HeaderDataset),
		Key:         get(HeaderKey),
		Seq:         seq,
		Publisher:   get(HeaderPublisher),
		Origin:      get(HeaderOrigin),
		Tombstone:   get(HeaderTombstone) == "true",
		Data:        json.RawMessage(data),
	}
	if e.RecordID == "" {
		e.RecordID = e.ID // stored before envelope ids were qualified
	}
	if p := get(HeaderPath); p != "" {
		e.Path = strings.Split(p, ",")
	}
	if v := get(HeaderSchemaVersion); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return e, fmt.Errorf("record seq %d: header %s=%q: %w", seq, HeaderSchemaVersion, v, err)
		}
		e.SchemaVersion = n
	}
	return e, nil
}

// DeadLetter is how APIs return a rejected record: the bytes as received and
// why they were refused.
//
// ID and RecordID are set when the publisher gave the record an id: ID is the
// envelope id the record would have been stored under ([EnvelopeID]), unique
// across publishers, so a re-drive de-duplicates on it as on a stored record.
// Origin is the hub the record came from (this hub for an actor's record);
// Peer and Path name the peer hub a federated record came from and the hubs
// it crossed.
type DeadLetter struct {
	Seq        uint64      `json:"seq"`
	ID         string      `json:"id,omitempty"`
	RecordID   string      `json:"record_id,omitempty"`
	Dataset    string      `json:"dataset"`
	Subject    string      `json:"subject"`
	Publisher  string      `json:"publisher"`
	Origin     string      `json:"origin,omitempty"`
	Peer       string      `json:"peer,omitempty"`
	Path       []string    `json:"path,omitempty"`
	RejectedAt time.Time   `json:"rejected_at"`
	Reason     string      `json:"reason"`
	Violations []Violation `json:"violations,omitempty"`
	// Data is the rejected payload: inline JSON when it was valid JSON,
	// otherwise a JSON string holding the bytes (invalid UTF-8 replaced).
	Data json.RawMessage `json:"data"`
}
