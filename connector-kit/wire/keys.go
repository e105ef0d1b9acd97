package wire

import (
	"fmt"
	"strings"
	"time"
)

// Key scopes: who may write a record key of a dataset. A dataset declares one
// (key_scope in its dataset.yaml); the hub tells the kit with the schema.
const (
	// KeyScopePublisher gives each publisher (of each origin hub) its own
	// key space: the latest record per key is kept per publisher, and a
	// record or tombstone only ever replaces its own publisher's. The default.
	KeyScopePublisher = "publisher"
	// KeyScopeDataset shares one key space among all publishers: each key
	// belongs to the publisher that first stored it, and a record or
	// tombstone from anyone else is refused until the key is transferred.
	KeyScopeDataset = "dataset"
)

// Headers of the hub's answer to a schema request (hub.schema.<dataset>.<actor>),
// besides [HeaderSchemaVersion].
const (
	// HeaderKeyScope is the dataset's key scope.
	HeaderKeyScope = "Hub-Key-Scope"
	// HeaderDatasetOwner is the actor that owns the dataset.
	HeaderDatasetOwner = "Hub-Dataset-Owner"
)

// KeyRequest asks the hub, on hub.keys.<dataset>.<actor>, who owns Key, or,
// with TransferTo, to give it to that actor. Only the dataset's owner may
// transfer (an admin may too, through the admin API); any publisher of the
// dataset may ask who owns a key.
type KeyRequest struct {
	Key        string `json:"key"`
	TransferTo string `json:"transfer_to,omitempty"`
}

// KeyOwner says who owns one key of a dataset with key_scope: dataset. The
// owner is a publisher of an origin hub: records from another hub never
// match a local owner, so a federation peer cannot take a key.
type KeyOwner struct {
	Dataset   string    `json:"dataset"`
	Key       string    `json:"key"`
	Origin    string    `json:"origin"`
	Publisher string    `json:"publisher"`
	Since     time.Time `json:"since"`
	// By is who made this actor the owner: "record" for the first record
	// stored under the key, else the admin or actor that transferred it.
	By string `json:"by"`
	// Previous is the owner before a transfer, as "<publisher>@<origin>".
	Previous string `json:"previous,omitempty"`
}

// KeyReply answers a KeyRequest: the owner (nil when nobody owns the key),
// or why not, with a code to match on: CodeForbidden (only the dataset's
// owner may transfer), CodeKeysNotShared, CodeUnknownDataset,
// CodeBadRequest, CodeUnavailable.
type KeyReply struct {
	Owner *KeyOwner `json:"owner,omitempty"`
	Error string    `json:"error,omitempty"`
	Code  Code      `json:"code,omitempty"`
}

// The record key is the value at a dataset's key field. It becomes a subject
// token, so it must be a non-empty string whose encoded token fits
// [MaxKeyToken], or an integer written without fraction or exponent (its
// digits are the key). StringKeyProblem and NumberKeyProblem are that rule,
// in one place for the hub's registry, its one-pass validator and anyone
// speaking the protocol.

// StringKeyProblem says why the JSON string s (decoded) cannot be a record
// key; "" when it can.
func StringKeyProblem(s string) string {
	switch {
	case s == "":
		return "must be a non-empty string or an integer, not an empty string"
	case 3*len(s) > MaxKeyToken && len(EncodeKey(s)) > MaxKeyToken: // an encoded byte takes at most 3
		return fmt.Sprintf("is too long: %d bytes (at most %d plain characters)", len(s), MaxKeyToken)
	}
	return ""
}

// NumberKeyProblem says why the JSON number literal tok (as written) cannot
// be a record key; "" when it can: an integer without fraction or exponent.
func NumberKeyProblem(tok string) string {
	if tok == "" || strings.ContainsAny(tok, ".eE") {
		return "must be a non-empty string or an integer, not " + tok
	}
	return ""
}
