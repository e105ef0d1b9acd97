package access

import (
	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/hub/internal/natsd"
	"github.com/jobtech-dev/datahub/hub/internal/policy"
)

// GrantFor compiles an actor's rights into NATS subject permissions:
//   - publish:   ingest.<dataset>.<actor>, and hub.keys.<dataset>.<actor> to
//     ask who owns a key (and, for the dataset's owner, to transfer one)
//   - subscribe: hub.subscribe/hub.unsubscribe.<dataset>.<actor> to ask for
//     a subscription, and deliver.<actor>.<dataset>.> to receive it
//   - read-schema: hub.schema.<dataset>.<actor>
//   - register-schema: hub.schema.register.<dataset>.<actor>, to register
//     a new version of the dataset's schema (checked for compatibility)
//
// and always the actor's own inbox for replies and the public catalog of
// dataset names. The grant ends when the
// rights next change (a time window opens or closes).
//
// A peer hub (actor is wire.PeerActor(name), "hub:<name>" in the policies)
// only ever takes: it gets the subscribe and read-schema rights its
// policies give, and hub.anchor.<peer> to exchange audit anchors, never a
// publish right, whatever a policy says.
func GrantFor(actor string, r policy.Rights) natsd.Grant {
	_, peer := wire.PeerName(actor)
	g := natsd.Grant{
		Actor:     actor,
		Publish:   []string{wire.CatalogSubject(actor)},
		Subscribe: []string{wire.InboxPrefix(actor) + ".>"},
		Responses: true,
		Expires:   r.NextChange,
	}
	for _, gr := range r.Grants {
		if !gr.Allowed {
			continue
		}
		switch gr.Action {
		case policy.ActionPublish:
			if peer {
				continue
			}
			g.Publish = append(g.Publish, wire.IngestSubject(gr.Dataset, actor),
				wire.ServiceSubject(wire.KeysPrefix, gr.Dataset, actor))
		case policy.ActionSubscribe:
			g.Publish = append(g.Publish,
				wire.ServiceSubject(wire.SubscribePrefix, gr.Dataset, actor),
				wire.ServiceSubject(wire.UnsubscribePrefix, gr.Dataset, actor))
			g.Subscribe = append(g.Subscribe, wire.DeliverSubject(actor, gr.Dataset, ">"))
		case policy.ActionReadSchema:
			g.Publish = append(g.Publish, wire.ServiceSubject(wire.SchemaPrefix, gr.Dataset, actor))
		case policy.ActionRegisterSchema:
			g.Publish = append(g.Publish, wire.ServiceSubject(wire.RegisterSchemaPrefix, gr.Dataset, actor))
		}
	}
	if peer {
		g.Publish = append(g.Publish, wire.AnchorSubject(actor))
	}
	return g
}

func sameGrant(a, b natsd.Grant) bool {
	eq := func(x, y []string) bool {
		if len(x) != len(y) {
			return false
		}
		for i := range x {
			if x[i] != y[i] {
				return false
			}
		}
		return true
	}
	return a.Actor == b.Actor && eq(a.Publish, b.Publish) && eq(a.Subscribe, b.Subscribe) && a.Expires.Equal(b.Expires)
}
