package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nkeys"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/hub/internal/actors"
	"github.com/jobtech-dev/datahub/hub/internal/audit"
	"github.com/jobtech-dev/datahub/hub/internal/delivery"
	"github.com/jobtech-dev/datahub/hub/internal/federation"
	"github.com/jobtech-dev/datahub/internal/problem"
)

// Federation routes: a peer hub has a name; this hub may give to it (an
// identity: the peer takes from this hub, named "hub:<name>" in the
// policies here) and take from it (a link), or both.
//
//	GET    /api/v1/peers                     every peer: identity, link, anchor held
//	GET    /api/v1/peers/{peer}              one
//	POST   /api/v1/peers/{peer}/identity     {public_key}: the peer may connect (hub peer create)
//	DELETE /api/v1/peers/{peer}/identity     revoke it (hub peer revoke)
//	POST   /api/v1/peers/{peer}/link         LinkRequest: take datasets from it (hub peer add)
//	PUT    /api/v1/peers/{peer}/link         the same, replacing the link (hub peer add --replace)
//	DELETE /api/v1/peers/{peer}/link         stop taking (hub peer remove)
//	GET    /api/v1/peers/{peer}/anchor       the peer's last audit anchor held here (hub peer anchor)
func (a *api) peerRoutes() []Route {
	admin := adminRoute
	return []Route{
		admin("GET /api/v1/peers", a.listPeers),
		admin("GET /api/v1/peers/{peer}", a.getPeer),
		admin("POST /api/v1/peers/{peer}/identity", a.createPeerIdentity),
		admin("DELETE /api/v1/peers/{peer}/identity", a.revokePeerIdentity),
		admin("POST /api/v1/peers/{peer}/link", a.putPeerLink),
		admin("PUT /api/v1/peers/{peer}/link", a.putPeerLink),
		admin("DELETE /api/v1/peers/{peer}/link", a.removePeerLink),
		admin("GET /api/v1/peers/{peer}/anchor", a.getPeerAnchor),
	}
}

// PeerInfo is how the API describes a peer hub.
type PeerInfo struct {
	Name string `json:"name"`
	// Identity is set when the peer may take from this hub.
	Identity *PeerIdentity `json:"identity,omitempty"`
	// Link is set when this hub takes from the peer.
	Link *federation.LinkView `json:"link,omitempty"`
	// Anchor is the peer's last audit anchor held here.
	Anchor *audit.Anchor `json:"anchor,omitempty"`
}

// PeerIdentity is the giving side: the identity a peer hub takes from this
// one as, and what it takes.
type PeerIdentity struct {
	// Subject is how the policies name it: hub:<name>.
	Subject     string    `json:"subject"`
	PublicKey   string    `json:"public_key"`
	CreatedAt   time.Time `json:"created_at"`
	Connections int       `json:"connections"`
	// Subscriptions are the peer's positions here, one per dataset.
	Subscriptions []PeerSubscription `json:"subscriptions"`
}

// PeerSubscription is a peer's subscription to a dataset of this hub.
type PeerSubscription struct {
	Dataset  string `json:"dataset"`
	Consumer string `json:"consumer"`
	// AckFloor is the sequence up to which the peer took every record;
	// Pending the records after it the peer has not acknowledged: not
	// delivered yet, or delivered and not yet acknowledged.
	AckFloor uint64 `json:"ack_floor"`
	Pending  uint64 `json:"pending"`
	// Suspended is set while the peer lost the right (its position kept
	// for the grace period).
	Suspended bool `json:"suspended,omitempty"`
}

// NewPeerIdentityRequest registers a peer hub's public key.
type NewPeerIdentityRequest struct {
	PublicKey string `json:"public_key"`
}

// LinkRequest asks this hub to take datasets from a peer hub.
type LinkRequest struct {
	// URL is the peer's NATS address (tls://… for one serving TLS).
	URL string `json:"url"`
	// Identity and Seed are the credentials the peer's admin made for
	// this hub (the credentials file's actor line and nkey seed).
	Identity string `json:"identity"`
	Seed     string `json:"seed"`
	// CA is the PEM of the CA that signed the peer's certificate (empty:
	// the system's CAs).
	CA string `json:"ca,omitempty"`
	// Datasets are "D" or "REMOTE=LOCAL".
	Datasets []string `json:"datasets"`
	// Forward also takes the records the peer took from other hubs.
	Forward bool `json:"forward,omitempty"`
	// Rate is the most records a second, whatever the local load (absent:
	// federation.DefaultRate; 0: no fixed ceiling).
	Rate *int `json:"rate,omitempty"`
	// NoYield takes up to Rate even while local publishers are busy (by
	// default the link yields to them).
	NoYield bool `json:"no_yield,omitempty"`
}

func (a *api) fedService() (*federation.Service, error) {
	if a.Federation == nil {
		return nil, problem.New(wire.CodeUnavailable, "federation is not running on this hub")
	}
	return a.Federation, nil
}

// peerName is the {peer} of the path, checked.
func peerName(r *http.Request) (string, error) {
	name := r.PathValue("peer")
	if strings.HasPrefix(name, wire.PeerSubjectPrefix) {
		name = strings.TrimPrefix(name, wire.PeerSubjectPrefix)
	}
	if !wire.ValidName(name) {
		return "", problem.New(wire.CodeNotFound, fmt.Sprintf("%s is not a peer hub name ([a-z][a-z0-9-]{0,62})", quoteShort(name)))
	}
	return name, nil
}

func (a *api) peers(ctx context.Context) ([]PeerInfo, error) {
	fed, err := a.fedService()
	if err != nil {
		return nil, err
	}
	byName := map[string]*PeerInfo{}
	get := func(name string) *PeerInfo {
		if p, ok := byName[name]; ok {
			return p
		}
		p := &PeerInfo{Name: name}
		byName[name] = p
		return p
	}
	conns := map[string]int{}
	if a.NATSConnected != nil {
		conns = a.NATSConnected()
	}
	subs := a.peerSubscriptions(ctx)
	for _, id := range a.Access.Actors.Peers() {
		name, _ := wire.PeerName(id.Name)
		get(name).Identity = &PeerIdentity{Subject: wire.DisplayName(id.Name), PublicKey: id.PublicKey, CreatedAt: id.CreatedAt,
			Connections: conns[id.Name], Subscriptions: append([]PeerSubscription{}, subs[id.Name]...)}
	}
	links, err := fed.Links(ctx)
	if err != nil {
		return nil, problem.New(wire.CodeUnavailable, err.Error())
	}
	for _, l := range links {
		get(l.Name).Link = &l
	}
	names := make([]string, 0, len(byName))
	for n := range byName {
		names = append(names, n)
	}
	slices.Sort(names)
	anchors := fed.Anchors(ctx, names)
	out := make([]PeerInfo, 0, len(names))
	for _, n := range names {
		p := byName[n]
		if an, ok := anchors[n]; ok {
			p.Anchor = &an
		}
		out = append(out, *p)
	}
	return out, nil
}

// peerSubscriptions lists the consumers of peer identities, by subject token.
func (a *api) peerSubscriptions(ctx context.Context) map[string][]PeerSubscription {
	out := map[string][]PeerSubscription{}
	if a.JetStream == nil {
		return out
	}
	for _, d := range a.Registry.List() {
		st, err := a.JetStream.Stream(ctx, wire.StreamName(d.Name))
		if err != nil {
			continue
		}
		lister := st.ListConsumers(ctx)
		for info := range lister.Info() {
			actor := info.Config.Metadata[delivery.MetaActor]
			if _, ok := wire.PeerName(actor); !ok {
				continue
			}
			out[actor] = append(out[actor], PeerSubscription{Dataset: d.Name, Consumer: info.Name, AckFloor: info.AckFloor.Stream,
				Pending: info.NumPending + uint64(info.NumAckPending), Suspended: info.Config.Metadata[delivery.MetaSuspendedUntil] != ""})
		}
	}
	return out
}

func (a *api) listPeers(w http.ResponseWriter, r *http.Request) error {
	out, err := a.peers(r.Context())
	if err != nil {
		return err
	}
	return problem.WriteJSON(w, http.StatusOK, out)
}

func (a *api) getPeer(w http.ResponseWriter, r *http.Request) error {
	name, err := peerName(r)
	if err != nil {
		return err
	}
	all, err := a.peers(r.Context())
	if err != nil {
		return err
	}
	for _, p := range all {
		if p.Name == name {
			return problem.WriteJSON(w, http.StatusOK, p)
		}
	}
	return problem.New(wire.CodeNotFound, fmt.Sprintf("no peer hub %s: neither an identity (hub peer create) nor a link (hub peer add)", quoteShort(name)))
}

func (a *api) createPeerIdentity(w http.ResponseWriter, r *http.Request) error {
	name, err := peerName(r)
	if err != nil {
		return err
	}
	var req NewPeerIdentityRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	id, err := a.Access.CreatePeer(r.Context(), name, req.PublicKey, audit.ActorAdmin)
	switch {
	case errors.Is(err, actors.ErrExists):
		return problem.New(wire.CodeConflict, err.Error())
	case errors.Is(err, actors.ErrInvalidName), errors.Is(err, actors.ErrInvalidKey):
		return problem.New(wire.CodeBadRequest, err.Error())
	case err != nil:
		return err
	}
	return problem.WriteJSON(w, http.StatusCreated, PeerIdentity{Subject: wire.DisplayName(id.Name), PublicKey: id.PublicKey, CreatedAt: id.CreatedAt, Subscriptions: []PeerSubscription{}})
}

func (a *api) revokePeerIdentity(w http.ResponseWriter, r *http.Request) error {
	name, err := peerName(r)
	if err != nil {
		return err
	}
	id, err := a.Access.RevokePeer(r.Context(), name, audit.ActorAdmin)
	if errors.Is(err, actors.ErrNotFound) {
		return problem.New(wire.CodeNotFound, fmt.Sprintf("no peer hub identity hub:%s on this hub", name))
	}
	if err != nil {
		return err
	}
	return problem.WriteJSON(w, http.StatusOK, PeerIdentity{Subject: wire.DisplayName(id.Name), PublicKey: id.PublicKey, CreatedAt: id.CreatedAt, Subscriptions: []PeerSubscription{}})
}

func (a *api) putPeerLink(w http.ResponseWriter, r *http.Request) error {
	name, err := peerName(r)
	if err != nil {
		return err
	}
	fed, err := a.fedService()
	if err != nil {
		return err
	}
	var req LinkRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	if _, err := nkeys.FromSeed([]byte(req.Seed)); err != nil || !strings.HasPrefix(req.Seed, "SU") {
		return problem.New(wire.CodeBadRequest, "request body: seed is not an nkey user seed (the credentials file the peer's admin made with 'hub peer create')")
	}
	l := federation.Link{Name: name, URL: req.URL, Identity: req.Identity, Seed: req.Seed, CA: req.CA, Forward: req.Forward, Rate: federation.DefaultRate, NoYield: req.NoYield}
	if req.Rate != nil {
		l.Rate = *req.Rate
	}
	for _, d := range req.Datasets {
		m, err := federation.ParseDataset(d)
		if err != nil {
			return problem.New(wire.CodeBadRequest, err.Error())
		}
		l.Datasets = append(l.Datasets, m)
	}
	v, err := fed.Add(r.Context(), l, r.Method == http.MethodPut, audit.ActorAdmin)
	switch {
	case errors.Is(err, federation.ErrLinkExists):
		return problem.New(wire.CodeConflict, err.Error()+": replace it (hub peer add --replace, PUT) or remove it first")
	case errors.Is(err, federation.ErrInvalidLink):
		return problem.New(wire.CodeBadRequest, err.Error())
	case err != nil && v.Name == "":
		return problem.New(wire.CodeUnavailable, err.Error())
	case err != nil:
		return err
	}
	status := http.StatusCreated
	if r.Method == http.MethodPut {
		status = http.StatusOK
	}
	return problem.WriteJSON(w, status, v)
}

func (a *api) removePeerLink(w http.ResponseWriter, r *http.Request) error {
	name, err := peerName(r)
	if err != nil {
		return err
	}
	fed, err := a.fedService()
	if err != nil {
		return err
	}
	v, err := fed.Remove(r.Context(), name, audit.ActorAdmin)
	switch {
	case errors.Is(err, federation.ErrNoLink):
		return problem.New(wire.CodeNotFound, fmt.Sprintf("this hub takes nothing from %s: no link to remove", name))
	case err != nil && v.Name == "":
		return problem.New(wire.CodeUnavailable, err.Error())
	case err != nil:
		return err
	}
	return problem.WriteJSON(w, http.StatusOK, v)
}

func (a *api) getPeerAnchor(w http.ResponseWriter, r *http.Request) error {
	name, err := peerName(r)
	if err != nil {
		return err
	}
	fed, err := a.fedService()
	if err != nil {
		return err
	}
	an, err := fed.Anchor(r.Context(), name)
	if errors.Is(err, federation.ErrNoAnchor) {
		return problem.New(wire.CodeNotFound, fmt.Sprintf("no audit anchor of %s held here yet: anchors travel over links, when one comes up and each time a hub anchors", name))
	}
	if err != nil {
		return err
	}
	return problem.WriteJSON(w, http.StatusOK, an)
}
