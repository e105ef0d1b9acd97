package kit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
)

// DatasetInfo is what the hub tells an actor about a dataset besides its
// schema.
type DatasetInfo struct {
	Name string
	// Owner is the actor that owns the dataset.
	Owner string
	// KeyScope is wire.KeyScopePublisher (each actor's keys are its own:
	// the latest record per key is kept per publisher) or
	// wire.KeyScopeDataset (one key space: a key belongs to the actor that
	// first stored it).
	KeyScope      string
	SchemaVersion int
}

// Dataset returns what the hub says about dataset, fetched with its schema
// (and cached with it); the actor needs the read-schema right.
func (c *Client) Dataset(ctx context.Context, dataset string) (DatasetInfo, error) {
	cs, err := c.cachedSchema(ctx, dataset)
	return cs.info, err
}

// ErrKeysNotShared: the dataset's keys are scoped by publisher, so no key
// has an owner to ask about or transfer.
var ErrKeysNotShared = errors.New("dataset's keys are scoped by publisher")

// KeyOwner returns who owns key of dataset (a dataset with key_scope:
// dataset), or nil when nobody does yet. Any actor that may publish to the
// dataset may ask.
func (c *Client) KeyOwner(ctx context.Context, dataset, key string) (*wire.KeyOwner, error) {
	r, err := c.keyRequest(ctx, dataset, wire.KeyRequest{Key: key})
	if err != nil {
		return nil, fmt.Errorf("owner of key %q of %s: %w", key, dataset, err)
	}
	return r.Owner, nil
}

// TransferKey gives key of dataset to the actor to. Only the dataset's owner
// may (ErrForbidden otherwise); an admin can too, with `hub key transfer`.
// The transfer is audited.
func (c *Client) TransferKey(ctx context.Context, dataset, key, to string) (wire.KeyOwner, error) {
	r, err := c.keyRequest(ctx, dataset, wire.KeyRequest{Key: key, TransferTo: to})
	if err != nil {
		return wire.KeyOwner{}, fmt.Errorf("transfer key %q of %s to %s: %w", key, dataset, to, err)
	}
	if r.Owner == nil {
		return wire.KeyOwner{}, fmt.Errorf("transfer key %q of %s to %s: %w: no owner in the answer", key, dataset, to, ErrUnavailable)
	}
	return *r.Owner, nil
}

func (c *Client) keyRequest(ctx context.Context, dataset string, req wire.KeyRequest) (wire.KeyReply, error) {
	b, _ := json.Marshal(req)
	m, err := c.request(ctx, wire.ServiceSubject(wire.KeysPrefix, dataset, c.actor), b)
	if err != nil {
		return wire.KeyReply{}, c.refine(ctx, dataset, err)
	}
	var r wire.KeyReply
	if err := json.Unmarshal(m.Data, &r); err != nil {
		return r, fmt.Errorf("decode key reply: %w", err)
	}
	switch r.Code {
	case "":
		return r, nil
	case wire.CodeKeysNotShared:
		return r, fmt.Errorf("%w: %s", ErrKeysNotShared, r.Error)
	}
	return r, fromWire(dataset, &wire.Error{Code: r.Code, Message: r.Error}, nil)
}
