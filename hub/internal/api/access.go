package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/hub/internal/access"
	"github.com/jobtech-dev/datahub/hub/internal/actors"
	"github.com/jobtech-dev/datahub/hub/internal/audit"
	"github.com/jobtech-dev/datahub/hub/internal/policy"
	"github.com/jobtech-dev/datahub/internal/problem"
)

// ActorInfo is how the API describes an actor.
type ActorInfo struct {
	actors.Actor
	Connections int `json:"connections"`
}

// NewActorRequest registers an actor's public key; the private key never
// reaches the hub.
type NewActorRequest struct {
	Name      string `json:"name"`
	PublicKey string `json:"public_key"`
}

// ApplyPoliciesRequest is the whole policy state: file name → content.
type ApplyPoliciesRequest struct {
	Files map[string]string `json:"files"`
	// Source optionally says where the files came from (the CLI sends the
	// folder or file given to -f); it is recorded as the set's origin.
	Source string `json:"source,omitempty"`
}

// maxSourceLen bounds ApplyPoliciesRequest.Source.
const maxSourceLen = 1024

// ApplyPoliciesResult answers a policy apply: what it changed, and a
// warning for each actor or dataset a policy names that the hub does not
// know. Such a set still applies (an actor may be created later), but a
// misspelt name grants or denies nothing, so the admin is told.
type ApplyPoliciesResult struct {
	access.ApplyResult
	Warnings []string `json:"warnings,omitempty"`
}

// PolicyState answers GET /api/v1/policies: the set in force and how it
// was applied.
type PolicyState struct {
	Digest   string            `json:"digest"`
	Policies []string          `json:"policies"`
	Files    map[string]string `json:"files"`
	Origin   access.Origin     `json:"origin"`
	// Layers lists the policies in force beside the files, by layer (the
	// grants of approved access requests): an apply of the files keeps them.
	Layers map[string][]string `json:"layers,omitempty"`
}

// CheckResult answers a policy check.
type CheckResult struct {
	Actor    string `json:"actor"`
	Action   string `json:"action"`
	Dataset  string `json:"dataset"`
	Allowed  bool   `json:"allowed"`
	PolicyID string `json:"policy_id,omitempty"`
	Reason   string `json:"reason"`
	// Warnings says when the actor is not registered: the answer is then
	// what the policies would decide once it is.
	Warnings []string `json:"warnings,omitempty"`
}

// ExplainLine is one line of a policy explain: the decision for one
// dataset and action, the deciding policy's conditions, the conditional
// policies that would decide otherwise, and Text, the line as the CLI
// prints it.
type ExplainLine struct {
	Dataset    string   `json:"dataset"`
	Action     string   `json:"action"`
	Allowed    bool     `json:"allowed"`
	PolicyID   string   `json:"policy_id"`
	Reason     string   `json:"reason"`
	Conditions []string `json:"conditions"`
	Pending    []string `json:"pending"`
	// Layer is the layer of the deciding policy: "" for the applied files,
	// "access-requests" for a grant from an approved access request.
	Layer string `json:"layer,omitempty"`
	Text  string `json:"text"`
}

func decodeBody(r *http.Request, v any) error {
	b, err := io.ReadAll(io.LimitReader(r.Body, 16<<20+1))
	if err != nil {
		return problem.New(wire.CodeBadRequest, "read request body: "+err.Error())
	}
	if len(b) > 16<<20 {
		return problem.New(wire.CodeTooLarge, "request body larger than 16 MiB")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return problem.New(wire.CodeBadRequest, "request body: "+err.Error())
	}
	if dec.More() {
		return problem.New(wire.CodeBadRequest, fmt.Sprintf("request body: unexpected data after the JSON value at byte %d", dec.InputOffset()))
	}
	return nil
}

func (a *api) listActors(w http.ResponseWriter, r *http.Request) error {
	conns := a.NATSConnected()
	out := []ActorInfo{}
	for _, act := range a.Access.Actors.List() {
		out = append(out, ActorInfo{Actor: act, Connections: conns[act.Name]})
	}
	return problem.WriteJSON(w, http.StatusOK, out)
}

func (a *api) createActor(w http.ResponseWriter, r *http.Request) error {
	var req NewActorRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	act, err := a.Access.CreateActor(r.Context(), req.Name, req.PublicKey, "admin")
	switch {
	case errors.Is(err, actors.ErrExists):
		return problem.New(wire.CodeConflict, err.Error())
	case errors.Is(err, actors.ErrInvalidName), errors.Is(err, actors.ErrInvalidKey):
		return problem.New(wire.CodeBadRequest, err.Error())
	case err != nil:
		return err
	}
	return problem.WriteJSON(w, http.StatusCreated, act)
}

func (a *api) revokeActor(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("actor")
	if !wire.ValidName(name) {
		return problem.New(wire.CodeNotFound, fmt.Sprintf("%s is not an actor name ([a-z][a-z0-9-]{0,62})", quoteShort(name)))
	}
	act, err := a.Access.RevokeActor(r.Context(), name, "admin")
	if errors.Is(err, actors.ErrNotFound) {
		return problem.New(wire.CodeNotFound, err.Error())
	}
	if err != nil {
		return err
	}
	return problem.WriteJSON(w, http.StatusOK, act)
}

func (a *api) getPolicies(w http.ResponseWriter, r *http.Request) error {
	set := a.Access.Policies()
	files := map[string]string{}
	for k, v := range set.Files() {
		files[k] = string(v)
	}
	return problem.WriteJSON(w, http.StatusOK, PolicyState{Digest: set.Digest(), Policies: set.Base().PolicyIDs(), Files: files,
		Origin: a.Access.PolicyOrigin(), Layers: set.Layers()})
}

func (a *api) applyPolicies(w http.ResponseWriter, r *http.Request) error {
	var req ApplyPoliciesRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	if req.Files == nil {
		return problem.New(wire.CodeBadRequest, `request body needs "files": {name: content}; {"files": {}} applies an empty policy set (everything denied)`)
	}
	if len(req.Source) > maxSourceLen || strings.ContainsFunc(req.Source, unicode.IsControl) {
		return problem.New(wire.CodeBadRequest, fmt.Sprintf(`request body: "source" must be at most %d characters without control characters`, maxSourceLen))
	}
	files := make(map[string][]byte, len(req.Files))
	for k, v := range req.Files {
		files[k] = []byte(v)
	}
	set, err := policy.LoadFiles(files)
	if err != nil {
		// Nothing changed: the set in force stays.
		p := problem.New(wire.CodeInvalid, err.Error())
		p.Title = "Policy files rejected; nothing changed"
		return p
	}
	res, err := a.Access.ApplyFrom(r.Context(), set, access.Origin{Route: access.RouteAPI, By: audit.ActorAdmin, Source: req.Source})
	if err != nil {
		return err
	}
	warnings := a.unknownNames(set)
	for _, w := range warnings {
		a.log.Warn("applied policies name something this hub does not know", "warning", w)
	}
	return problem.WriteJSON(w, http.StatusOK, ApplyPoliciesResult{ApplyResult: res, Warnings: warnings})
}

// unknownNames lists, one warning each, the actors and datasets the set
// names literally (patterns are left alone) that the hub does not know.
func (a *api) unknownNames(set *policy.Set) []string {
	actorsKnown := map[string]bool{}
	for _, act := range a.Access.Actors.List() {
		actorsKnown[act.Name] = true
	}
	var out []string
	seen := map[string]bool{}
	warn := func(s string) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	for _, id := range set.PolicyIDs() {
		p, _ := set.Policy(id)
		for _, sub := range p.GetSubjects() {
			if name, ok := strings.CutPrefix(sub, "actor:"); ok && !strings.Contains(name, "<") && !actorsKnown[name] {
				warn(fmt.Sprintf("policy %q (%s) names actor %q, which is not registered on this hub", id, set.File(id), name))
			}
			if name, ok := strings.CutPrefix(sub, wire.PeerSubjectPrefix); ok && !strings.Contains(name, "<") {
				if _, known := a.Access.Actors.Get(wire.PeerActor(name)); !known {
					warn(fmt.Sprintf("policy %q (%s) names peer hub %q, which has no identity on this hub (hub peer create %s)", id, set.File(id), sub, name))
				}
			}
		}
		for _, res := range p.GetResources() {
			if name, ok := strings.CutPrefix(res, "dataset:"); ok && !strings.Contains(name, "<") {
				if _, known := a.Registry.Get(name); !known {
					warn(fmt.Sprintf("policy %q (%s) names dataset %q, which is not declared on this hub", id, set.File(id), name))
				}
			}
		}
	}
	groups := set.Groups()
	for _, g := range slices.Sorted(maps.Keys(groups)) {
		for _, m := range groups[g] {
			if !actorsKnown[m] {
				warn(fmt.Sprintf("%s: group %q names actor %q, which is not registered on this hub", policy.GroupsFile, g, m))
			}
		}
	}
	return out
}

func (a *api) checkPolicy(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	req := policy.Request{Actor: identityParam(q.Get("actor")), Action: q.Get("action"), Dataset: q.Get("dataset"), RemoteIP: q.Get("ip"), Time: time.Now()}
	if v := q.Get("at"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return problem.New(wire.CodeBadRequest, fmt.Sprintf("query at=%q: want an RFC 3339 time", v))
		}
		req.Time = t
	}
	if req.Actor == "" || req.Action == "" || req.Dataset == "" {
		return problem.New(wire.CodeBadRequest, "give actor, action and dataset")
	}
	if req.RemoteIP != "" {
		if _, err := netip.ParseAddr(req.RemoteIP); err != nil {
			return problem.New(wire.CodeBadRequest, fmt.Sprintf("query ip=%s: want an IP address", quoteShort(req.RemoteIP)))
		}
	}
	if err := a.checkQuestion(req.Actor, req.Action, req.Dataset); err != nil {
		return err
	}
	d := a.Access.Policies().Decide(req)
	res := CheckResult{Actor: wire.DisplayName(req.Actor), Action: req.Action, Dataset: req.Dataset, Allowed: d.Allowed, PolicyID: d.PolicyID, Reason: d.Reason}
	if _, ok := a.Access.Actors.Get(req.Actor); !ok {
		res.Warnings = []string{fmt.Sprintf("actor %q is not registered on this hub: this is what the policies would decide once it is", wire.DisplayName(req.Actor))}
	}
	return problem.WriteJSON(w, http.StatusOK, res)
}

// identityParam reads an actor= query parameter: an actor's name, or a
// peer hub as hub:NAME (asked about by its subject token); anything else
// is left for checkQuestion to refuse.
func identityParam(s string) string {
	if id, err := wire.ParseIdentity(s); err == nil {
		return id
	}
	return s
}

// checkQuestion refuses a check or explain that names an action, actor or
// dataset that cannot be: a misspelt name must not read as a deny. Empty
// action and dataset are left alone (explain takes them as filters).
func (a *api) checkQuestion(actor, action, dataset string) error {
	if !wire.ValidIdentity(actor) {
		return problem.New(wire.CodeBadRequest, fmt.Sprintf("query actor=%s: actor %s is not an actor name ([a-z][a-z0-9-]{0,62}) or a peer hub (hub:NAME)", quoteShort(wire.DisplayName(actor)), quoteShort(wire.DisplayName(actor))))
	}
	if action != "" && !slices.Contains(policy.Actions(), action) {
		return problem.New(wire.CodeBadRequest, fmt.Sprintf("query action=%s: unknown action %s: the actions are %s", quoteShort(action), quoteShort(action), strings.Join(policy.Actions(), ", ")))
	}
	if dataset != "" && !wire.ValidName(dataset) {
		return problem.New(wire.CodeBadRequest, fmt.Sprintf("query dataset=%s: not a dataset name ([a-z][a-z0-9-]{0,62})", quoteShort(dataset)))
	}
	if dataset != "" {
		if _, ok := a.Registry.Get(dataset); !ok {
			var names []string
			for _, d := range a.Registry.List() {
				names = append(names, d.Name)
			}
			return problem.New(wire.CodeNotFound, fmt.Sprintf("dataset %s is not declared on this hub (its datasets: %s)", quoteShort(dataset), strings.Join(names, ", ")))
		}
	}
	return nil
}

func (a *api) explainPolicy(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	actor, action, dataset := identityParam(q.Get("actor")), q.Get("action"), q.Get("dataset")
	if actor == "" {
		return problem.New(wire.CodeBadRequest, "give actor")
	}
	if err := a.checkQuestion(actor, action, dataset); err != nil {
		return err
	}
	var datasets []string
	for _, d := range a.Registry.List() {
		if dataset == "" || d.Name == dataset {
			datasets = append(datasets, d.Name)
		}
	}
	lines := a.Access.Policies().Explain(actor, datasets, time.Now())
	out := make([]ExplainLine, 0, len(lines))
	for _, l := range lines {
		if action != "" && l.Action != action {
			continue
		}
		out = append(out, ExplainLine{Dataset: l.Dataset, Action: l.Action, Allowed: l.Allowed, PolicyID: l.PolicyID,
			Reason: l.Reason, Conditions: l.Conditions, Pending: l.Pending, Layer: l.Layer, Text: l.String()})
	}
	return problem.WriteJSON(w, http.StatusOK, out)
}

func (a *api) tailAudit(w http.ResponseWriter, r *http.Request) error {
	n := 0
	if v := r.URL.Query().Get("n"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			return problem.New(wire.CodeBadRequest, fmt.Sprintf("query n=%q: want a number", v))
		}
	}
	follow := false
	if v := r.URL.Query().Get("follow"); v != "" {
		var err error
		if follow, err = strconv.ParseBool(v); err != nil {
			return problem.New(wire.CodeBadRequest, fmt.Sprintf("query follow=%q: want true or false", v))
		}
	}
	if n < 0 {
		return problem.New(wire.CodeBadRequest, fmt.Sprintf("query n=%d: want 0 (all) or more", n))
	}
	out := newNDJSON(w)
	err := a.Audit.Tail(r.Context(), n, follow, func(e audit.Entry) error { return out.write(e, follow) })
	if follow && r.Context().Err() != nil {
		err = nil
	}
	return a.finishStream(out, err)
}
