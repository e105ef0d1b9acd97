package policy

import (
	"context"
	"fmt"
	"time"

	"github.com/ory/ladon"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
)

// Request is one question put to a Set: may Actor do Action on Dataset?
type Request struct {
	// Actor is an actor name, e.g. "jobbland", or a peer hub's subject
	// token, wire.PeerActor("regional") for the policies' "hub:regional".
	Actor   string
	Action  string // one of Actions()
	Dataset string // dataset name, e.g. "jobads"
	// Time is when the action happens; time-window conditions are checked
	// against it. A zero Time fulfils no time window.
	Time time.Time
	// RemoteIP is the connection's IP address; empty means unknown, and a
	// policy with a source-network condition then does not apply.
	RemoteIP string
	// AnyNetwork judges as if from the most favourable network: an allow
	// with a source-network condition applies, a deny with one does not.
	// It answers "could this actor do it from anywhere?", e.g. to remove
	// subscriptions no network can use any more.
	AnyNetwork bool
}

// Decision is a Set's answer to a Request.
type Decision struct {
	Allowed bool
	// PolicyID is the deciding policy: the first explicit deny that
	// matched, else the first allow; empty when nothing matched (default
	// deny) or the request was malformed.
	PolicyID string
	// Reason says why in plain English, e.g. `allowed by policy "x"`.
	Reason string
}

// Reasons given when no policy decided.
const (
	reasonDefaultDeny = "no policy allows it (default deny)"
)

// Decide evaluates r for each of the actor's identities ("actor:<name>"
// and "group:<g>" for each group holding it) against every policy, the way
// ladon's Ladon.DoPoliciesAllow does for one subject: a policy applies when
// an action, a subject, a resource match and all its conditions are
// fulfilled. An applying deny wins over every allow; without an applying
// allow the answer is deny. Decide never fails: a malformed request (bad
// actor or dataset name, unknown action) is denied with a reason saying so.
func (s *Set) Decide(r Request) Decision {
	bit, d, ok := checkRequest(r.Actor, r.Dataset, r.Action)
	if !ok {
		return d
	}
	// Like ladon, check the action first: it is a precomputed bit test and
	// rules out most policies before any pattern is matched.
	ids := s.identities(r.Actor)
	candidates := make([]*compiled, 0, 16)
	for _, p := range s.policies {
		if p.actions&bit != 0 && p.matchesAnySubject(ids) {
			candidates = append(candidates, p)
		}
	}
	ev := newEvaluation(r.Time, r.RemoteIP)
	ev.anyNetwork = r.AnyNetwork
	return decision(ev.evaluate(candidates, prefixDataset+r.Dataset, bit))
}

// validIdentity reports whether actor names an actor, or a peer hub by its
// subject token (wire.PeerActor).
func validIdentity(actor string) bool {
	if namePattern.MatchString(actor) {
		return true
	}
	_, ok := wire.PeerName(actor)
	return ok
}

// checkRequest validates the parts of a request and returns the action's bit.
func checkRequest(actor, dataset, action string) (uint8, Decision, bool) {
	if !validIdentity(actor) {
		return 0, Decision{Reason: fmt.Sprintf("invalid actor name %q (default deny)", actor)}, false
	}
	if !namePattern.MatchString(dataset) {
		return 0, Decision{Reason: fmt.Sprintf("invalid dataset name %q (default deny)", dataset)}, false
	}
	bit := actionBit(action)
	if bit == 0 {
		return 0, Decision{Reason: fmt.Sprintf("unknown action %q (default deny)", action)}, false
	}
	return bit, Decision{}, true
}

func decision(deny, allow *compiled) Decision {
	switch {
	case deny != nil:
		return Decision{PolicyID: deny.policy.ID, Reason: fmt.Sprintf("denied by policy %q (explicit deny)", deny.policy.ID)}
	case allow != nil:
		return Decision{Allowed: true, PolicyID: allow.policy.ID, Reason: fmt.Sprintf("allowed by policy %q", allow.policy.ID)}
	default:
		return Decision{Reason: reasonDefaultDeny}
	}
}

// evaluation holds the ladon context of one request time and address.
type evaluation struct {
	ctx        context.Context
	lctx       ladon.Context
	req        *ladon.Request
	anyNetwork bool
}

func newEvaluation(t time.Time, remoteIP string) *evaluation {
	lctx := ladon.Context{ContextKeyTime: t, ContextKeyRemoteIP: remoteIP}
	return &evaluation{ctx: context.Background(), lctx: lctx, req: &ladon.Request{Context: lctx}}
}

// fulfills reports whether all of p's conditions hold, calling each ladon
// condition's Fulfills with the value under its key.
func (ev *evaluation) fulfills(p *compiled) bool {
	for key, c := range p.policy.Conditions {
		if ev.anyNetwork && key == ContextKeyRemoteIP {
			if p.allow {
				continue
			}
			return false
		}
		if !c.Fulfills(ev.ctx, ev.lctx[key], ev.req) {
			return false
		}
	}
	return true
}

// evaluate returns the first applying deny and the first applying allow
// among candidates (already matched by subject) for resource and action.
func (ev *evaluation) evaluate(candidates []*compiled, resource string, bit uint8) (deny, allow *compiled) {
	for _, p := range candidates {
		if p.actions&bit == 0 || !anyMatches(p.resources, resource) || !ev.fulfills(p) {
			continue
		}
		if !p.allow {
			return p, allow
		}
		if allow == nil {
			allow = p
		}
	}
	return nil, allow
}
