package access

import (
	"context"
	"fmt"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/hub/internal/actors"
	"github.com/jobtech-dev/datahub/hub/internal/audit"
	"github.com/jobtech-dev/datahub/hub/internal/delivery"
)

// CreatePeer registers the public key of a peer hub that takes datasets
// from this one. The policies name it "hub:<name>"; it connects like an
// actor, under its subject token wire.PeerActor(name), and gets only the
// subscribe and read-schema rights they give it (see [GrantFor]).
func (s *Service) CreatePeer(ctx context.Context, name, publicKey, by string) (actors.Actor, error) {
	a, err := s.Actors.CreatePeer(ctx, name, publicKey)
	if err != nil {
		return a, err
	}
	if err := s.recordNow(ctx, audit.Entry{Kind: audit.KindPeerCreate, Actor: by, Subject: wire.PeerSubjectPrefix + name,
		Detail: mustJSON(map[string]string{"public_key": publicKey})}); err != nil {
		return a, fmt.Errorf("peer hub %s created, but %w", name, err)
	}
	return a, nil
}

// RevokePeer removes a peer hub's identity as RevokeActor removes an actor:
// its link is cut at once, its key refused, and the positions of its
// subscriptions deleted (a peer created again takes from where its link
// says it stopped, not from a position the old key left).
func (s *Service) RevokePeer(ctx context.Context, name, by string) (actors.Actor, error) {
	token := wire.PeerActor(name)
	a, err := s.Actors.Revoke(ctx, token)
	if err != nil {
		return a, err
	}
	cut := s.NATS.Kick(token)
	removed, _ := delivery.RemoveActor(ctx, s.JS, s.Registry, token, "")
	if err := s.recordNow(ctx, audit.Entry{Kind: audit.KindPeerRevoke, Actor: by, Subject: wire.PeerSubjectPrefix + name,
		Detail: mustJSON(map[string]any{"public_key": a.PublicKey, "connections_cut": cut, "subscriptions_removed": removed})}); err != nil {
		return a, fmt.Errorf("peer hub %s revoked, but %w", name, err)
	}
	return a, nil
}
