package access

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/jobtech-dev/datahub/hub/internal/audit"
	"github.com/jobtech-dev/datahub/hub/internal/policy"
)

// Routes by which a policy set is put in force.
const (
	// RouteFolder is the policies folder, applied by `hub serve` at start.
	RouteFolder = "folder"
	// RouteAPI is the admin API (`hub policy apply` uses it).
	RouteAPI = "api"
)

// ByStart is who applies the policies folder at start.
const ByStart = "hub-start"

// originKey holds the Origin of the set under policyKey.
const originKey = "origin"

// Origin says how the policy set in force was applied, so a start can tell
// an edited folder from a folder about to undo what an admin applied since.
type Origin struct {
	// Route is RouteFolder or RouteAPI.
	Route string `json:"route"`
	// By is who applied it: ByStart for the folder, "admin" for the API.
	By string `json:"by"`
	// Source is where the files came from: the folder's absolute path, or
	// what an API client said it sent (the CLI sends the path given to -f).
	Source string `json:"source,omitempty"`
	// Node is the cluster node that applied it ("" on a single hub, and
	// for sets applied before the hub recorded it): the same folder path on
	// two machines is not the same folder.
	Node string `json:"node,omitempty"`
	// Digest is the digest of the set applied.
	Digest string `json:"digest"`
	// At is when it was applied.
	At time.Time `json:"at"`
}

// PolicyOrigin is how the set in force was applied; Route is "" when that
// is unknown (a set applied before the hub recorded it, or none yet).
func (s *Service) PolicyOrigin() Origin {
	if o := s.origin.Load(); o != nil && o.Digest == s.set.Load().Digest() {
		return *o
	}
	return Origin{}
}

// readApplied reads the set last applied and how it was applied. The set is
// nil when none was ever applied; the origin is zero when it is unknown.
func (s *Service) readApplied(ctx context.Context) (*policy.Set, Origin, error) {
	e, err := s.kv.Get(ctx, policyKey)
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
		return nil, Origin{}, nil
	case err != nil:
		return nil, Origin{}, fmt.Errorf("read applied policies: %w", err)
	}
	set, err := decodeSet(e.Value())
	if err != nil {
		return nil, Origin{}, err
	}
	s.seen(e.Revision())
	var o Origin
	if e, err := s.kv.Get(ctx, originKey); err == nil {
		if json.Unmarshal(e.Value(), &o) != nil || o.Digest != set.Digest() {
			o = Origin{} // written for another set: unknown
		}
	} else if !errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, Origin{}, fmt.Errorf("read how the policies were applied: %w", err)
	}
	return set, o, nil
}

// writeOrigin records how the set just persisted was applied. It is written
// after the files and carries their digest, so a crash between the two
// writes leaves an origin that is recognisably not the set's (unknown).
func (s *Service) writeOrigin(ctx context.Context, o Origin) error {
	b, err := json.Marshal(o)
	if err != nil {
		return fmt.Errorf("encode policy origin: %w", err)
	}
	if _, err := s.kv.Put(ctx, originKey, b); err != nil {
		return fmt.Errorf("persist policy origin: %w", err)
	}
	s.origin.Store(&o)
	return nil
}

// loadInitial puts the start-up policies in force (see LoadInitial).
func (s *Service) loadInitial(ctx context.Context, dir string) error {
	applied, origin, err := s.readApplied(ctx)
	if err != nil {
		return err
	}
	if applied != nil {
		s.set.Store(applied)
		o := origin
		s.origin.Store(&o)
	}
	keep := func(why string) {
		if applied == nil {
			s.log.Warn(why+"; no policies were ever applied, so every actor is denied until an admin runs `hub policy apply -f DIR`", "folder", dir)
			return
		}
		s.log.Info(why+"; keeping the set last applied", "folder", dir, "policies", applied.Len(), "digest", applied.Digest()[:12],
			"applied_route", origin.Route, "applied_by", origin.By, "applied_source", origin.Source, "applied_at", origin.At)
	}
	if dir == "" {
		keep("no policies folder given")
		return nil
	}
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		keep("policies folder not found")
		return nil
	} else if err != nil {
		return fmt.Errorf("policies folder %s: %w", dir, err)
	}
	set, err := policy.LoadDir(dir)
	if err != nil {
		return fmt.Errorf("load policies: %w", err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		abs = dir
	}
	from := Origin{Route: RouteFolder, By: ByStart, Source: abs, Node: s.Node}
	if applied != nil && applied.Digest() != set.Digest() && !(origin.Route == RouteFolder && origin.Source == abs && origin.Node == s.Node) {
		s.override(applied, origin, set, abs)
	}
	_, err = s.ApplyFrom(ctx, set, from)
	return err
}

// override says loudly, in the log and the audit log, that the folder is
// about to replace a set applied another way, and what that drops.
func (s *Service) override(applied *policy.Set, origin Origin, set *policy.Set, folder string) {
	d := policy.DiffSets(applied, set)
	how := "applied " + origin.Route
	switch {
	case origin.Route == RouteAPI:
		how = "applied through the admin API/CLI by " + origin.By
	case origin.Route == RouteFolder && origin.Node != s.Node:
		how = "applied from the folder " + origin.Source + " of node " + origin.Node
	case origin.Route == RouteFolder:
		how = "applied from another folder (" + origin.Source + ")"
	case origin.Route == "":
		how = "applied by an unrecorded route (before the hub recorded how)"
	}
	s.log.Warn("policies folder replaces the set "+how+" (policy ids: dropped, added, changed); "+
		"to keep an applied set, start with --policies '' (config: policies: \"\") and apply files with `hub policy apply`",
		"folder", folder, "dropped", d.Removed, "added", d.Added, "changed", d.Changed, "groups_changed", d.Groups,
		"applied_route", origin.Route, "applied_by", origin.By, "applied_source", origin.Source, "applied_at", origin.At,
		"applied_digest", applied.Digest()[:12], "folder_digest", set.Digest()[:12])
	var prev any
	if origin.Route != "" {
		prev = origin
	}
	s.record(audit.Entry{Kind: audit.KindPolicyOverride, Actor: ByStart, Subject: set.Digest()[:12],
		Detail: mustJSON(map[string]any{"folder": folder, "digest": set.Digest(), "previous_digest": applied.Digest(), "previous_origin": prev,
			"dropped": d.Removed, "added": d.Added, "changed": d.Changed, "groups_changed": d.Groups})})
}
