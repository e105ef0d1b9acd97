package policy

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Rights is an actor's effective rights at one moment, from one address:
// the decision for every dataset and action asked about.
type Rights struct {
	Actor    string
	At       time.Time
	RemoteIP string
	// Grants holds one entry per dataset and action: datasets in the order
	// asked, actions in the order of Actions().
	Grants []Grant
	// NextChange is the earliest time after At when a time-window bound of
	// a policy matching the actor (by subject) is reached, so that some
	// decision may change; zero if no such time exists. The hub uses it as
	// the expiry of the actor's connection credentials.
	NextChange time.Time
}

// Grant is the decision for one dataset and action.
type Grant struct {
	Dataset string
	Action  string
	Decision
}

// Allowed reports whether the rights allow action on dataset; a pair not
// asked about is not allowed.
func (r Rights) Allowed(dataset, action string) bool {
	d, ok := r.Decision(dataset, action)
	return ok && d.Allowed
}

// Decision returns the decision for dataset and action, and whether that
// pair was asked about.
func (r Rights) Decision(dataset, action string) (Decision, bool) {
	for _, g := range r.Grants {
		if g.Dataset == dataset && g.Action == action {
			return g.Decision, true
		}
	}
	return Decision{}, false
}

// Rights decides every action on every dataset for actor at now, from
// remoteIP (empty if unknown), exactly as [Set.Decide] would, and computes
// NextChange. Subject matching is done once for the actor and resource
// matching once per dataset.
func (s *Set) Rights(actor string, datasets []string, now time.Time, remoteIP string) Rights {
	r := Rights{Actor: actor, At: now, RemoteIP: remoteIP, Grants: make([]Grant, 0, len(datasets)*len(actions))}
	candidates := s.forActor(actor)
	ev := newEvaluation(now, remoteIP)
	perDataset := make([]*compiled, 0, len(candidates))
	for _, ds := range datasets {
		perDataset = perDataset[:0]
		resource := prefixDataset + ds
		for _, p := range candidates {
			if anyMatches(p.resources, resource) {
				perDataset = append(perDataset, p)
			}
		}
		for _, a := range actions {
			bit, d, ok := checkRequest(actor, ds, a)
			if ok {
				d = decision(ev.evaluate(perDataset, resource, bit))
			}
			r.Grants = append(r.Grants, Grant{Dataset: ds, Action: a, Decision: d})
		}
	}
	if validIdentity(actor) {
		r.NextChange = nextChange(candidates, now)
	}
	return r
}

// nextChange returns the earliest time-window bound after now among policies.
func nextChange(policies []*compiled, now time.Time) time.Time {
	var next time.Time
	consider := func(t time.Time) {
		if !t.IsZero() && t.After(now) && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	for _, p := range policies {
		if p.window != nil {
			consider(p.window.From)
			consider(p.window.Until)
		}
	}
	return next
}

// ExplainLine is one line of `hub policy explain`: the decision for one
// dataset and action, and the conditions behind it.
type ExplainLine struct {
	Dataset string
	Action  string
	Decision
	// Conditions describes the deciding policy's conditions, e.g.
	// "time window from 2026-01-01T00:00:00Z until 2027-06-30T00:00:00Z";
	// empty when it has none or nothing decided.
	Conditions []string
	// Layer is the layer of the deciding policy ("" for the applied files;
	// "access-requests" for a grant from an approved access request).
	Layer string
	// Pending lists conditional policies that match the actor, dataset and
	// action but do not apply now (outside their time window, or limited to
	// a source network, which Explain cannot know), e.g.
	// `policy "x" would allow it within time window from … until …`.
	Pending []string
}

// String formats the line for a terminal, e.g.
//
//	jobads subscribe allow policy="ifau-subscribes-jobads" (time window from … until …)
func (l ExplainLine) String() string {
	var b strings.Builder
	verdict := "deny"
	if l.Allowed {
		verdict = "allow"
	}
	fmt.Fprintf(&b, "%s %s %s", l.Dataset, l.Action, verdict)
	if l.PolicyID != "" {
		fmt.Fprintf(&b, " policy=%q", l.PolicyID)
		if l.Layer != "" {
			fmt.Fprintf(&b, " [layer %s]", l.Layer)
		}
	} else {
		fmt.Fprintf(&b, " (%s)", l.Reason)
	}
	if len(l.Conditions) > 0 {
		fmt.Fprintf(&b, " (%s)", strings.Join(l.Conditions, "; "))
	}
	for _, p := range l.Pending {
		fmt.Fprintf(&b, "; %s", p)
	}
	return b.String()
}

// Explain lists, for each dataset and action, whether actor is allowed at
// now, the deciding policy, its conditions, and the conditional policies
// that would decide otherwise at another time or from another network. The
// source address is unknown here, so policies with a network condition
// never apply and show up as pending.
func (s *Set) Explain(actor string, datasets []string, now time.Time) []ExplainLine {
	rights := s.Rights(actor, datasets, now, "")
	candidates := s.forActor(actor)
	ev := newEvaluation(now, "")
	lines := make([]ExplainLine, 0, len(rights.Grants))
	for _, g := range rights.Grants {
		line := ExplainLine{Dataset: g.Dataset, Action: g.Action, Decision: g.Decision}
		bit := actionBit(g.Action)
		resource := prefixDataset + g.Dataset
		for _, p := range candidates {
			if p.actions&bit == 0 || !anyMatches(p.resources, resource) {
				continue
			}
			conds := p.describeConditions()
			if p.policy.ID == g.PolicyID {
				line.Conditions = conds
				line.Layer = p.layer
				continue
			}
			if len(conds) == 0 || ev.fulfills(p) {
				continue
			}
			line.Pending = append(line.Pending, fmt.Sprintf("policy %q would %s it only with %s (%s)",
				p.policy.ID, p.policy.Effect, strings.Join(conds, " and "), p.whyNot(now)))
		}
		lines = append(lines, line)
	}
	return lines
}

func (c *compiled) describeConditions() []string {
	var out []string
	if c.window != nil {
		out = append(out, c.window.String())
	}
	if c.cidr != nil {
		out = append(out, "source network "+c.cidr.CIDR)
	}
	return out
}

func (c *compiled) whyNot(now time.Time) string {
	var why []string
	if c.window != nil && !c.window.contains(now) {
		switch {
		case !c.window.From.IsZero() && now.Before(c.window.From):
			why = append(why, "not yet in force")
		default:
			why = append(why, "expired")
		}
	}
	if c.cidr != nil {
		why = append(why, "network decided per connection")
	}
	return strings.Join(why, ", ")
}

// Expiry is the end of a time-boxed policy.
type Expiry struct {
	PolicyID string
	File     string
	Effect   string
	Subjects []string
	Until    time.Time
}

// Expiries returns every time-window end after the given time, earliest
// first (ties by policy id), so the hub can audit grants as they expire.
func (s *Set) Expiries(after time.Time) []Expiry {
	var out []Expiry
	for _, p := range s.policies {
		if p.window == nil || p.window.Until.IsZero() || !p.window.Until.After(after) {
			continue
		}
		out = append(out, Expiry{
			PolicyID: p.policy.ID,
			File:     p.file,
			Effect:   p.policy.Effect,
			Subjects: slices.Clone(p.policy.Subjects),
			Until:    p.window.Until,
		})
	}
	slices.SortFunc(out, func(a, b Expiry) int {
		return cmp.Or(a.Until.Compare(b.Until), cmp.Compare(a.PolicyID, b.PolicyID))
	})
	return out
}
