package wire

import "time"

// Start positions of a subscription.
const (
	StartAll      = "all"      // every stored record (the default)
	StartNew      = "new"      // only records published from now on
	StartSnapshot = "snapshot" // the latest record per key, then live ones
	StartAfterSeq = "after"    // records after AfterSeq
	StartSince    = "since"    // records published at or after Since
)

// SubscribeRequest asks the hub, on hub.subscribe.<dataset>.<actor>, for a
// subscription: the hub checks the actor's rights and creates a JetStream
// consumer that pushes the dataset's records to the actor's deliver subject.
type SubscribeRequest struct {
	// Durable names the subscription so it resumes where it stopped after a
	// reconnect or a restart; empty means it ends when unused for a while.
	Durable  string    `json:"durable,omitempty"`
	Start    string    `json:"start,omitempty"`
	AfterSeq uint64    `json:"after_seq,omitempty"`
	Since    time.Time `json:"since,omitzero"`
	// MaxAckPending bounds records delivered but not yet acked (default 1024).
	MaxAckPending int `json:"max_ack_pending,omitempty"`
	// AckWait is how long before an unacked record is delivered again
	// (default 30s).
	AckWait time.Duration `json:"ack_wait,omitempty"`
}

// SubscribeReply answers a SubscribeRequest. The actor subscribes to
// DeliverSubject and acks each record (its reply subject); flow-control
// requests must be answered too (nats.go does both).
type SubscribeReply struct {
	Consumer       string `json:"consumer,omitempty"`
	Stream         string `json:"stream,omitempty"`
	DeliverSubject string `json:"deliver_subject,omitempty"`
	// Pending is how many records the subscription had to deliver when it
	// was created: a reader of stored records knows when it is caught up.
	Pending uint64 `json:"pending"`
	// Code and Error say why the request was refused; both empty on success.
	Code  Code   `json:"code,omitempty"`
	Error string `json:"error,omitempty"`
}

// Err is the refusal as an *Error, or nil on success.
func (r SubscribeReply) Err() error {
	if r.Code == "" && r.Error == "" {
		return nil
	}
	c := r.Code
	if c == "" {
		c = CodeInternal
	}
	return &Error{Code: c, Message: r.Error}
}

// UnsubscribeRequest ends a subscription on hub.unsubscribe.<dataset>.<actor>:
// a durable one by its name, or an ephemeral one by its consumer (the
// SubscribeReply's Consumer), so a reader that is done frees it at once
// instead of leaving it to count against the actor's limit until the hub
// removes it, unused, after 5 minutes. Give one of the two.
type UnsubscribeRequest struct {
	Durable  string `json:"durable,omitempty"`
	Consumer string `json:"consumer,omitempty"`
}
