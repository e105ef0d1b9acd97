package wire

// Status is the outcome of one published record. The hub's ingest replies,
// the hub's HTTP API and the connector sidecar all use this one vocabulary,
// each status with one HTTP status (see the README's outcome table).
type Status string

// The outcomes of a published record.
const (
	// StatusStored means JetStream stored the record: it is durable.
	StatusStored Status = "stored"
	// StatusDuplicate means this publisher's record with the same id and
	// the same content was stored within the dataset's dedupe window;
	// nothing new was stored.
	StatusDuplicate Status = "duplicate"
	// StatusQueued means the sidecar holds the record durably in its outbox
	// and will forward it; the hub has not answered yet.
	StatusQueued Status = "queued"
	// StatusConflict means a record with the same id from the same
	// publisher was stored within the dataset's dedupe window with different
	// content: this record was not stored (it is kept in the dead-letter
	// stream). A changed record needs a new id. Do not retry it.
	StatusConflict Status = "conflict"
	// StatusRejected means the record failed validation; it was kept in the
	// dead-letter stream and will never be stored. Do not retry it.
	StatusRejected Status = "rejected"
	// StatusForbidden means the sharing policies do not let the publisher
	// publish to the dataset.
	StatusForbidden Status = "forbidden"
	// StatusTooLarge means the record is over the size limit.
	StatusTooLarge Status = "too_large"
	// StatusRateLimited means a limit was reached; retry later.
	StatusRateLimited Status = "rate_limited"
	// StatusUnknownDataset means the hub declares no such dataset.
	StatusUnknownDataset Status = "unknown_dataset"
	// StatusRetired means the dataset was retired: it keeps its records
	// but takes no new ones. Do not retry it.
	StatusRetired Status = "retired"
	// StatusUnavailable means the hub could not store the record now (for
	// example storage trouble). The record was not stored; retry it.
	StatusUnavailable Status = "unavailable"
)

// OK reports whether the record is stored, or will be (queued).
func (s Status) OK() bool { return s == StatusStored || s == StatusDuplicate || s == StatusQueued }

// StatusFor is the record outcome that a refusal with code c means.
func StatusFor(c Code) Status {
	switch c {
	case CodeInvalid:
		return StatusRejected
	case CodeForbidden:
		return StatusForbidden
	case CodeTooLarge:
		return StatusTooLarge
	case CodeConflict:
		return StatusConflict
	case CodeRateLimited:
		return StatusRateLimited
	case CodeUnknownDataset:
		return StatusUnknownDataset
	case CodeRetired:
		return StatusRetired
	default:
		return StatusUnavailable
	}
}

// Reply is the hub's answer to one ingest request, sent only after the
// outcome is durable. A record that was not stored has a Code (what to do
// about it) and an Error (what happened, for people).
//
// ID is the record id the publisher gave (or the hub made); EnvelopeID is the
// id readers see in the record's envelope ([EnvelopeID]).
type Reply struct {
	Status     Status      `json:"status"`
	Code       Code        `json:"code,omitempty"`
	ID         string      `json:"id,omitempty"`
	EnvelopeID string      `json:"envelope_id,omitempty"`
	Dataset    string      `json:"dataset"`
	Key        string      `json:"key,omitempty"`
	Seq        uint64      `json:"seq,omitempty"`
	Error      string      `json:"error,omitempty"`
	Violations []Violation `json:"violations,omitempty"`
	// Warnings are what a stored record is warned about, each at its
	// pointer: a deprecated taxonomy concept in a dataset declared
	// taxonomy_deprecated: warn (keyword x-taxonomy, naming the
	// replacement).
	Warnings []Violation `json:"warnings,omitempty"`
}

// OK reports whether the record is stored (now or earlier).
func (r Reply) OK() bool { return r.Status == StatusStored || r.Status == StatusDuplicate }

// Err is the refusal as an *Error, or nil when the record is stored.
func (r Reply) Err() error {
	if r.OK() {
		return nil
	}
	c := r.Code
	if c == "" {
		c = CodeInternal
	}
	return &Error{Code: c, Message: r.Error}
}
