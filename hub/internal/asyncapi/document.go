package asyncapi

import "encoding/json"

// Version is the AsyncAPI version of the documents this package writes.
const Version = "3.0.0"

// MediaType is the media type of an AsyncAPI 3.0.0 document, and the
// schemaFormat of a schema written in AsyncAPI's own schema format.
const MediaType = "application/vnd.aai.asyncapi+json;version=" + Version

// Document is an AsyncAPI 3.0.0 document, with only the members the hub
// fills in. Maps marshal with sorted keys, so one registry and one set of
// rights always give the same bytes.
type Document struct {
	AsyncAPI           string               `json:"asyncapi"`
	ID                 string               `json:"id,omitempty"`
	Info               Info                 `json:"info"`
	Servers            map[string]Server    `json:"servers,omitempty"`
	DefaultContentType string               `json:"defaultContentType,omitempty"`
	Channels           map[string]Channel   `json:"channels"`
	Operations         map[string]Operation `json:"operations"`
	Components         Components           `json:"components"`
}

// Info is the document's info object.
type Info struct {
	Title       string `json:"title"`
	Version     string `json:"version"`
	Description string `json:"description,omitempty"`
	// Actor names the actor the document was written for ("" for all).
	Actor string `json:"x-hub-actor,omitempty"`
}

// Server is where actors connect: the hub's NATS address.
type Server struct {
	Host        string `json:"host"`
	Protocol    string `json:"protocol"`
	Description string `json:"description,omitempty"`
}

// Channel is one subject pattern and the messages it carries.
type Channel struct {
	Address     string               `json:"address"`
	Title       string               `json:"title,omitempty"`
	Description string               `json:"description,omitempty"`
	Messages    map[string]Ref       `json:"messages"`
	Parameters  map[string]Parameter `json:"parameters,omitempty"`
}

// Parameter is a {name} in a channel's address.
type Parameter struct {
	Description string   `json:"description,omitempty"`
	Enum        []string `json:"enum,omitempty"`
}

// Operation is something an application does on a channel: send or receive.
type Operation struct {
	Action      string `json:"action"`
	Channel     Ref    `json:"channel"`
	Title       string `json:"title,omitempty"`
	Summary     string `json:"summary,omitempty"`
	Description string `json:"description,omitempty"`
	Messages    []Ref  `json:"messages"`
}

// Ref is a reference object.
type Ref struct {
	Ref string `json:"$ref"`
}

// Components holds the messages the channels refer to.
type Components struct {
	Messages map[string]Message `json:"messages"`
}

// Message is a dataset's record: a JSON document valid against the
// dataset's latest schema version.
type Message struct {
	Name        string       `json:"name"`
	Title       string       `json:"title,omitempty"`
	Summary     string       `json:"summary,omitempty"`
	Description string       `json:"description,omitempty"`
	ContentType string       `json:"contentType"`
	Headers     *MultiSchema `json:"headers,omitempty"`
	Payload     MultiSchema  `json:"payload"`
	// SchemaVersion is the number of the registered schema version the
	// payload is.
	SchemaVersion int `json:"x-hub-schema-version"`
}

// MultiSchema is a multi-format schema object: a schema and its format.
type MultiSchema struct {
	SchemaFormat string          `json:"schemaFormat"`
	Schema       json.RawMessage `json:"schema"`
}
