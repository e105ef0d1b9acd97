package kit

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/nats-io/nats.go"

	"github.com/jobtech-dev/datahub/connector-kit/schema"
	"github.com/jobtech-dev/datahub/connector-kit/wire"
)

// VersionedSchema is one registered version of a dataset's schema.
type VersionedSchema struct {
	Dataset string
	// Version is this version's number; Latest the dataset's latest.
	Version int
	Latest  int
	// Doc is the JSON Schema document as registered.
	Doc json.RawMessage
	// Schema is Doc compiled, to check records locally.
	Schema *schema.Schema
}

// SchemaVersions lists the registered versions of dataset's schema, oldest
// first, with the dataset's compatibility mode, for an actor the policies
// give read-schema on it. It returns ErrForbidden, ErrUnknownDataset or
// ErrHubUnreachable.
func (c *Client) SchemaVersions(ctx context.Context, dataset string) (wire.SchemaVersions, error) {
	var list wire.SchemaVersions
	m, err := c.schemaRequest(ctx, dataset, wire.SchemaRequest{List: true})
	if err != nil {
		return list, fmt.Errorf("list schema versions: %w", err)
	}
	if err := json.Unmarshal(m.Data, &list); err != nil {
		return list, fmt.Errorf("list schema versions of %s: %w", dataset, err)
	}
	return list, nil
}

// SchemaVersion fetches version n of dataset's schema (0: the latest), for
// an actor the policies give read-schema on it. Versions never change once
// registered, so the kit keeps each one it fetched for the Client's life.
// It returns ErrNotFound for a version the dataset does not have,
// ErrForbidden, ErrUnknownDataset or ErrHubUnreachable.
func (c *Client) SchemaVersion(ctx context.Context, dataset string, n int) (*VersionedSchema, error) {
	if n < 0 {
		return nil, fmt.Errorf("schema version %d of %s: want 1 or more (0: the latest): %w", n, dataset, ErrBadRequest)
	}
	key := dataset + "@" + strconv.Itoa(n)
	if n != 0 {
		c.smu.Lock()
		v, ok := c.versions[key]
		c.smu.Unlock()
		if ok {
			return v, nil
		}
	}
	m, err := c.schemaRequest(ctx, dataset, wire.SchemaRequest{Version: n})
	if err != nil {
		return nil, fmt.Errorf("fetch schema version %d: %w", n, err)
	}
	doc := json.RawMessage(m.Data)
	version, _ := strconv.Atoi(m.Header.Get(wire.HeaderSchemaVersion))
	latest, _ := strconv.Atoi(m.Header.Get(wire.HeaderSchemaLatest))
	s, err := schema.Compile(dataset+"@v"+strconv.Itoa(version), doc, nil)
	if err != nil {
		return nil, fmt.Errorf("schema version %d of %s: %w", version, dataset, err)
	}
	v := &VersionedSchema{Dataset: dataset, Version: version, Latest: latest, Doc: doc, Schema: s}
	c.smu.Lock()
	if c.versions == nil {
		c.versions = map[string]*VersionedSchema{}
	}
	if len(c.versions) < maxCachedVersions {
		c.versions[dataset+"@"+strconv.Itoa(version)] = v
	}
	c.smu.Unlock()
	return v, nil
}

// maxCachedVersions bounds the schema versions a Client keeps.
const maxCachedVersions = 256

// schemaFor is the compiled schema of dataset at version (0: the latest).
func (c *Client) schemaFor(ctx context.Context, dataset string, version int) (*schema.Schema, error) {
	if version == 0 {
		s, _, err := c.Schema(ctx, dataset)
		return s, err
	}
	v, err := c.SchemaVersion(ctx, dataset, version)
	if err != nil {
		return nil, err
	}
	return v.Schema, nil
}

// SchemaRegistration is the hub's answer to a registered schema.
type SchemaRegistration struct {
	Dataset string
	// Version is the number the schema has now; Changed is false when it
	// already was the latest version (nothing was registered).
	Version int
	Changed bool
	// Report is the compatibility check that let it in.
	Report *wire.CompatibilityReport
}

// RegisterSchema registers doc, a JSON Schema document, as the next version
// of dataset's schema, for an actor the policies give register-schema on
// it. The hub registers it only if it passes the dataset's compatibility
// mode; records are then validated against it unless their publisher pins
// another version (WithSchemaVersion). It returns an *IncompatibleError
// (errors.Is ErrIncompatible) listing every breaking change, ErrInvalidSchema,
// ErrRetired, ErrForbidden, ErrUnknownDataset, ErrBadRequest, ErrUnavailable
// or ErrHubUnreachable.
func (c *Client) RegisterSchema(ctx context.Context, dataset string, doc []byte) (SchemaRegistration, error) {
	if err := checkDataset(dataset); err != nil {
		return SchemaRegistration{}, fmt.Errorf("register schema: %w", err)
	}
	if !json.Valid(doc) {
		return SchemaRegistration{}, fmt.Errorf("register schema for %s: the document is not JSON: %w", dataset, ErrInvalidSchema)
	}
	req, err := json.Marshal(wire.RegisterSchemaRequest{Schema: doc})
	if err != nil {
		return SchemaRegistration{}, fmt.Errorf("register schema for %s: %w", dataset, err)
	}
	m, err := c.request(ctx, wire.ServiceSubject(wire.RegisterSchemaPrefix, dataset, c.actor), req)
	if err != nil {
		return SchemaRegistration{}, fmt.Errorf("register schema: %w", c.refine(ctx, dataset, err))
	}
	var r wire.RegisterSchemaReply
	if err := json.Unmarshal(m.Data, &r); err != nil {
		return SchemaRegistration{}, fmt.Errorf("register schema for %s: the hub's answer: %w", dataset, err)
	}
	switch r.Code {
	case "":
	case wire.CodeIncompatible:
		return SchemaRegistration{}, &IncompatibleError{Dataset: dataset, Report: r.Report, Text: r.Text}
	case wire.CodeInvalid:
		return SchemaRegistration{}, fmt.Errorf("%s: %w: %w", dataset, ErrInvalidSchema, &wire.Error{Code: r.Code, Message: r.Error})
	default:
		return SchemaRegistration{}, fmt.Errorf("register schema: %w", fromWire(dataset, &wire.Error{Code: r.Code, Message: r.Error}, nil))
	}
	// The latest version changed: the next Schema call asks the hub.
	c.smu.Lock()
	delete(c.schemas, dataset)
	c.smu.Unlock()
	return SchemaRegistration{Dataset: dataset, Version: r.Version, Changed: r.Changed, Report: r.Report}, nil
}

// schemaRequest asks the schema service, mapping a refusal to the kit's
// errors.
func (c *Client) schemaRequest(ctx context.Context, dataset string, q wire.SchemaRequest) (*nats.Msg, error) {
	if err := checkDataset(dataset); err != nil {
		return nil, err
	}
	body, err := json.Marshal(q)
	if err != nil {
		return nil, err
	}
	m, err := c.request(ctx, wire.ServiceSubject(wire.SchemaPrefix, dataset, c.actor), body)
	if err != nil {
		return nil, c.refine(ctx, dataset, err)
	}
	if code := m.Header.Get(wire.HeaderErrorCode); code != "" {
		return nil, fromWire(dataset, &wire.Error{Code: wire.Code(code), Message: m.Header.Get(wire.HeaderErrorMessage)}, nil)
	}
	return m, nil
}
