package wire

import (
	"encoding/json"
	"time"
)

// SchemaRequest asks the hub's schema service (hub.schema.<dataset>.<actor>,
// for an actor with read-schema on the dataset) for one version of the
// dataset's schema, or, with List, for the list of its versions. An empty
// request asks for the latest version.
//
// A schema is answered as the document itself, with its number in
// [HeaderSchemaVersion], the latest number in [HeaderSchemaLatest], and the
// dataset's key scope and owner ([HeaderKeyScope], [HeaderDatasetOwner]); a
// list as a JSON [SchemaVersions]. A refusal carries [HeaderErrorCode] and
// [HeaderErrorMessage] (CodeUnknownDataset, CodeNotFound for a version the
// dataset does not have, CodeBadRequest).
type SchemaRequest struct {
	Version int  `json:"version,omitempty"`
	List    bool `json:"list,omitempty"`
}

// Headers of a schema reply besides [HeaderSchemaVersion].
const (
	// HeaderSchemaLatest is the number of the dataset's latest version.
	HeaderSchemaLatest = "Hub-Schema-Latest"
	// HeaderDatasetRetired is set ("true") on the schema of a retired
	// dataset: it is read, not published to.
	HeaderDatasetRetired = "Hub-Dataset-Retired"
)

// SchemaVersionInfo describes one registered version of a dataset's schema.
type SchemaVersionInfo struct {
	Version      int       `json:"version"`
	RegisteredAt time.Time `json:"registered_at,omitzero"`
	// By is who registered it: an admin, an actor, or the hub's start.
	By string `json:"by,omitempty"`
	// Route is how: "folder" (a schemas folder), "api" or "actor".
	Route string `json:"route,omitempty"`
	// Digest identifies the schema's meaning (formatting does not count).
	Digest string `json:"digest,omitempty"`
}

// SchemaVersions lists a dataset's schema versions, oldest first.
type SchemaVersions struct {
	Dataset       string              `json:"dataset"`
	Latest        int                 `json:"latest"`
	Compatibility string              `json:"compatibility"`
	Versions      []SchemaVersionInfo `json:"versions"`
}

// RegisterSchemaRequest asks the hub (hub.schema.register.<dataset>.<actor>,
// for an actor the policies give register-schema on the dataset) to
// register Schema, a JSON Schema document (inline JSON), as the dataset's
// next version.
type RegisterSchemaRequest struct {
	Schema json.RawMessage `json:"schema"`
}

// SchemaChange is one change between two schema versions, as the hub's
// compatibility checker reports it: its type, the direction it breaks
// ("backward", "forward", "both" or "none"), a JSON pointer into the
// registered schema and one into the new one, where in a record it applies,
// and a message for people.
type SchemaChange struct {
	Type       string `json:"type"`
	Breaks     string `json:"breaks"`
	OldPointer string `json:"old_pointer"`
	NewPointer string `json:"new_pointer"`
	Instance   string `json:"instance"`
	Message    string `json:"message"`
	// Version is the registered version the change was found against.
	Version int `json:"version"`
}

// CompatibilityReport is the verdict on a candidate schema version: the
// mode checked, the versions it was compared with, and every change that
// breaks a direction the mode checks.
type CompatibilityReport struct {
	Mode       string         `json:"mode"`
	Version    int            `json:"version"`
	Compatible bool           `json:"compatible"`
	Checked    []int          `json:"checked"`
	Breaking   []SchemaChange `json:"breaking"`
}

// RegisterSchemaReply answers a RegisterSchemaRequest: the version the
// schema has (Changed false when it already was the latest), the report
// that let it in, or why not — with a code to match on: CodeIncompatible
// (Report lists every breaking change, Text says it for people),
// CodeInvalid (not a valid schema), CodeRetired, CodeUnknownDataset,
// CodeBadRequest, CodeUnavailable.
type RegisterSchemaReply struct {
	Dataset string               `json:"dataset"`
	Version int                  `json:"version,omitempty"`
	Changed bool                 `json:"changed"`
	Report  *CompatibilityReport `json:"report,omitempty"`
	// Text is the report as `hub schema check` prints it.
	Text  string `json:"text,omitempty"`
	Code  Code   `json:"code,omitempty"`
	Error string `json:"error,omitempty"`
}
