package wire

import "github.com/jobtech-dev/datahub/connector-kit/schema"

// Violation is one reason a record was rejected; see package schema.
type Violation = schema.Violation

// Status says what the hub did with a published record.
type Status string

// The statuses of an ingest reply.
const (
	// StatusStored means JetStream stored the record: it is durable.
	StatusStored Status = "stored"
	// StatusDuplicate means a record with the same id was stored within the
	// dataset's dedupe window; nothing new was stored.
	StatusDuplicate Status = "duplicate"
	// StatusConflict means a record with the same id from the same
	// publisher was stored within the dataset's dedupe window with different
	// content: this record was not stored (it is kept in the dead-letter
	// stream). A changed record needs a new id. Do not retry it.
	StatusConflict Status = "conflict"
	// StatusRejected means the record failed validation; it was kept in the
	// dead-letter stream and will never be stored. Do not retry it.
	StatusRejected Status = "rejected"
	// StatusUnavailable means the hub could not store the record now (for
	// example storage trouble). The record was not stored; retry it.
	StatusUnavailable Status = "unavailable"
)

// Reply is the hub's answer to one ingest request, sent only after the
// outcome is durable.
//
// ID is the record id the publisher gave (or the hub made); EnvelopeID is the
// id readers see in the record's envelope ([EnvelopeID]).
type Reply struct {
	Status     Status      `json:"status"`
	ID         string      `json:"id,omitempty"`
	EnvelopeID string      `json:"envelope_id,omitempty"`
	Dataset    string      `json:"dataset"`
	Key        string      `json:"key,omitempty"`
	Seq        uint64      `json:"seq,omitempty"`
	Error      string      `json:"error,omitempty"`
	Violations []Violation `json:"violations,omitempty"`
}

// OK reports whether the record is stored (now or earlier).
func (r Reply) OK() bool { return r.Status == StatusStored || r.Status == StatusDuplicate }
