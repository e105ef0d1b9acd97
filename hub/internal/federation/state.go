package federation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/hub/internal/audit"
)

// Bucket is the key-value bucket of the hub's federation state: the links
// it takes datasets over (with the credentials the peers gave it), the
// status of each link, the lease saying which node of a cluster runs it,
// and the last audit anchor each peer handed over. It is replicated like
// the hub's other state, so any node can run any link.
const Bucket = "hub_peers"

// Keys of the bucket: <kind>.<peer name>.
const (
	keyLink   = "link."
	keyStatus = "status."
	keyLease  = "lease."
	keyAnchor = "anchor."
)

// Link is a link from this hub to a peer hub it takes datasets from.
type Link struct {
	// Name is the peer hub's name: the name it stamps as origin on its
	// own records, so the last hub of every record's path on this link.
	Name string `json:"name"`
	// URL is the peer's NATS address (nats://host:port, tls://host:port,
	// or several, comma-separated, for a peer that is a cluster).
	URL string `json:"url"`
	// Identity is the subject token the peer knows this hub by
	// (wire.PeerActor: "hub_<name>", "hub:<name>" in its policies).
	Identity string `json:"identity"`
	// Seed is the nkey seed of that identity, from the credentials file
	// the peer's admin handed over. It never leaves the hub's state: the
	// API does not return it.
	Seed string `json:"seed"`
	// CA is the PEM of the CAs trusted for the peer's TLS certificate (""
	// = the system's); with it TLS is required.
	CA string `json:"ca,omitempty"`
	// Datasets are the peer's datasets taken, each into a local dataset.
	Datasets []DatasetMap `json:"datasets"`
	// Forward takes the records the peer itself took from other hubs too
	// (a chain A→B→C); without it only the peer's own records are taken.
	Forward bool `json:"forward"`
	// Rate is the most records a second taken over the link, whatever the
	// local load (0: no fixed ceiling).
	Rate int `json:"rate"`
	// NoYield takes up to Rate even while local publishers are busy; by
	// default a link yields to them (yield.go), so a catch-up after a cut
	// does not starve them.
	NoYield   bool      `json:"no_yield,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	// By is who added the link.
	By string `json:"by"`
}

// DatasetMap maps a peer's dataset to a local one.
type DatasetMap struct {
	Remote string `json:"remote"`
	Local  string `json:"local"`
}

// DefaultRate is the fixed ceiling of a link unless told: none, since the
// link yields to local publishers (links added before yielding was built
// keep the 2000 they were given).
const DefaultRate = 0

// ParseDataset reads "D" or "D=LOCAL".
func ParseDataset(s string) (DatasetMap, error) {
	remote, local, found := strings.Cut(s, "=")
	if !found {
		local = remote
	}
	if !wire.ValidName(remote) || !wire.ValidName(local) {
		return DatasetMap{}, fmt.Errorf("%w: dataset %q: want NAME or REMOTE=LOCAL, names matching [a-z][a-z0-9-]{0,62}", ErrInvalidLink, s)
	}
	return DatasetMap{Remote: remote, Local: local}, nil
}

// String renders the mapping as ParseDataset reads it.
func (m DatasetMap) String() string {
	if m.Remote == m.Local {
		return m.Remote
	}
	return m.Remote + "=" + m.Local
}

// validate checks a link before it is stored.
func (l Link) validate() error {
	if !wire.ValidName(l.Name) {
		return fmt.Errorf("%w: peer name %q must match [a-z][a-z0-9-]{0,62}", ErrInvalidLink, l.Name)
	}
	if l.URL == "" {
		return fmt.Errorf("%w: the peer's NATS URL is missing", ErrInvalidLink)
	}
	for _, u := range strings.Split(l.URL, ",") {
		if !strings.HasPrefix(u, "nats://") && !strings.HasPrefix(u, "tls://") {
			return fmt.Errorf("%w: %q is not a NATS URL (nats://host:port or tls://host:port; the HTTP API is not it)", ErrInvalidLink, u)
		}
	}
	if _, ok := wire.PeerName(l.Identity); !ok {
		return fmt.Errorf("%w: the credentials name %q, not a peer hub identity (hub_NAME, made by 'hub peer create' or 'hub peer keygen' on the giving hub's side): an actor's credentials cannot link hubs", ErrInvalidLink, l.Identity)
	}
	if len(l.Datasets) == 0 {
		return fmt.Errorf("%w: name at least one dataset to take (--dataset D or --dataset D=LOCAL)", ErrInvalidLink)
	}
	var locals, remotes []string
	for _, d := range l.Datasets {
		if _, err := ParseDataset(d.String()); err != nil {
			return err
		}
		if slices.Contains(remotes, d.Remote) {
			return fmt.Errorf("%w: dataset %q taken twice", ErrInvalidLink, d.Remote)
		}
		if slices.Contains(locals, d.Local) {
			return fmt.Errorf("%w: two datasets go to the local dataset %q", ErrInvalidLink, d.Local)
		}
		remotes, locals = append(remotes, d.Remote), append(locals, d.Local)
	}
	if l.Rate < 0 {
		return fmt.Errorf("%w: rate %d: want 0 (no bound) or more records per second", ErrInvalidLink, l.Rate)
	}
	return nil
}

// Status is what a link's node reports of it, kept in the bucket so every
// node can answer for it.
type Status struct {
	// Node is the node running the link ("" when none does).
	Node string `json:"node,omitempty"`
	// State is "connected", "connecting", "unreachable" or "unauthorized"
	// (the peer refused the key: revoked, or not yet created); Error says
	// why it is not connected.
	State string `json:"state"`
	Error string `json:"error,omitempty"`
	// Since is when State last changed.
	Since time.Time `json:"since,omitzero"`
	// PeerServer is the name the peer's NATS server gave.
	PeerServer string `json:"peer_server,omitempty"`
	// Bound is the records a second the link may take now (0: no bound):
	// its Rate, or less while it yields to busy local publishers.
	Bound     int             `json:"bound"`
	Datasets  []DatasetStatus `json:"datasets"`
	UpdatedAt time.Time       `json:"updated_at,omitzero"`
}

// DatasetStatus is one dataset of a link.
type DatasetStatus struct {
	Remote string `json:"remote"`
	Local  string `json:"local"`
	// State is "taking", "waiting" (not subscribed yet) or "refused" (the
	// peer's policies do not grant it, or it has no such dataset); Error
	// says why.
	State string `json:"state"`
	Error string `json:"error,omitempty"`
	// Received counts records stored here; Duplicates those this hub
	// already held (another path brought them first); DeadLettered those
	// refused (kept in the dead letters); Echoes records whose path
	// already named this hub; NotForwarded records the peer took from
	// other hubs, not taken without Forward. All since the link was added.
	Received     uint64 `json:"received"`
	Duplicates   uint64 `json:"duplicates"`
	DeadLettered uint64 `json:"dead_lettered"`
	Echoes       uint64 `json:"echoes"`
	NotForwarded uint64 `json:"not_forwarded"`
	// LastSeq is the peer's stream sequence up to which every record was
	// taken (stored here, or known not to be needed): the link resumes
	// after it.
	LastSeq uint64 `json:"last_seq"`
	// LastPublishedAt is when the record at LastSeq was stored on the peer.
	LastPublishedAt time.Time `json:"last_published_at,omitzero"`
	// LagRecords is how many records the peer held after LastSeq at the
	// last delivery; LagSeconds how long ago the record at LastSeq was
	// published there, while records are left (0 once caught up).
	LagRecords uint64  `json:"lag_records"`
	LagSeconds float64 `json:"lag_seconds"`
}

// lease says which node runs a link until when.
type lease struct {
	Node  string    `json:"node"`
	Until time.Time `json:"until"`
}

// state is the bucket.
type state struct {
	kv jetstream.KeyValue
}

func openState(ctx context.Context, js jetstream.JetStream, replicas int) (*state, error) {
	if replicas < 1 {
		replicas = 1
	}
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      Bucket,
		Description: "federation: links to peer hubs (with their credentials), their status and leases, peers' audit anchors",
		History:     1,
		Storage:     jetstream.FileStorage,
		Replicas:    replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("open federation bucket %s: %w", Bucket, err)
	}
	return &state{kv: kv}, nil
}

func getJSON[T any](ctx context.Context, st *state, key string) (T, uint64, error) {
	var v T
	e, err := st.kv.Get(ctx, key)
	if err != nil {
		return v, 0, err
	}
	if err := json.Unmarshal(e.Value(), &v); err != nil {
		return v, 0, fmt.Errorf("federation bucket %s, key %s: %w", Bucket, key, err)
	}
	return v, e.Revision(), nil
}

// links lists the links stored, by name.
func (st *state) links(ctx context.Context) ([]Link, error) {
	lister, err := st.kv.ListKeysFiltered(ctx, keyLink+"*")
	if err != nil {
		return nil, fmt.Errorf("list links in %s: %w", Bucket, err)
	}
	var out []Link
	for k := range lister.Keys() {
		l, _, err := getJSON[Link](ctx, st, k)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	slices.SortFunc(out, func(a, b Link) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

func (st *state) link(ctx context.Context, name string) (Link, bool, error) {
	l, _, err := getJSON[Link](ctx, st, keyLink+name)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return Link{}, false, nil
	}
	return l, err == nil, err
}

// putLink stores l; with create, only if there is no link of that name.
func (st *state) putLink(ctx context.Context, l Link, create bool) error {
	b, _ := json.Marshal(l)
	var err error
	if create {
		_, err = st.kv.Create(ctx, keyLink+l.Name, b)
		if errors.Is(err, jetstream.ErrKeyExists) {
			return fmt.Errorf("link to %s: %w", l.Name, ErrLinkExists)
		}
	} else {
		_, err = st.kv.Put(ctx, keyLink+l.Name, b)
	}
	if err != nil {
		return fmt.Errorf("store link to %s: %w", l.Name, err)
	}
	return nil
}

func (st *state) deleteLink(ctx context.Context, name string) error {
	for _, k := range []string{keyLink, keyStatus, keyLease} {
		if err := st.kv.Purge(ctx, k+name); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
			return fmt.Errorf("remove %s%s: %w", k, name, err)
		}
	}
	return nil
}

func (st *state) status(ctx context.Context, name string) (Status, bool) {
	s, _, err := getJSON[Status](ctx, st, keyStatus+name)
	return s, err == nil
}

func (st *state) putStatus(ctx context.Context, name string, s Status) error {
	b, _ := json.Marshal(s)
	_, err := st.kv.Put(ctx, keyStatus+name, b)
	return err
}

// takeLease gives node the lease on link name for ttl when it is free,
// expired or node's already; it reports whether node holds it.
func (st *state) takeLease(ctx context.Context, name, node string, ttl time.Duration, now time.Time) (bool, error) {
	b, _ := json.Marshal(lease{Node: node, Until: now.Add(ttl)})
	cur, rev, err := getJSON[lease](ctx, st, keyLease+name)
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
		_, err = st.kv.Create(ctx, keyLease+name, b)
	case err != nil:
		return false, err
	case cur.Node != node && cur.Until.After(now):
		return false, nil
	default:
		_, err = st.kv.Update(ctx, keyLease+name, b, rev)
	}
	if errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		return false, nil // another node took it first
	}
	return err == nil, err
}

// dropLease gives the lease up, so another node takes the link at once.
func (st *state) dropLease(ctx context.Context, name, node string) {
	if cur, rev, err := getJSON[lease](ctx, st, keyLease+name); err == nil && cur.Node == node {
		_ = st.kv.Delete(ctx, keyLease+name, jetstream.LastRevision(rev))
	}
}

func (st *state) anchor(ctx context.Context, name string) (audit.Anchor, bool) {
	a, _, err := getJSON[audit.Anchor](ctx, st, keyAnchor+name)
	return a, err == nil
}

func (st *state) putAnchor(ctx context.Context, name string, a audit.Anchor) error {
	b, _ := json.Marshal(a)
	_, err := st.kv.Put(ctx, keyAnchor+name, b)
	return err
}
