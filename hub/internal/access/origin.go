package access

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/jobtech-dev/datahub/hub/internal/applied"
	"github.com/jobtech-dev/datahub/hub/internal/audit"
	"github.com/jobtech-dev/datahub/hub/internal/policy"
)

// Routes by which a policy set is put in force, and who applies the folder
// at start: the one rule of package applied, shared with the datasets.
const (
	// RouteFolder is the policies folder, applied by `hub serve` at start.
	RouteFolder = applied.RouteFolder
	// RouteAPI is the admin API (`hub policy apply` uses it).
	RouteAPI = applied.RouteAPI
)

// ByStart is who applies the policies folder at start.
const ByStart = applied.ByStart

// originKey holds the Origin of the set under policyKey.
const originKey = "origin"

// Origin says how the policy set in force was applied, so a start can tell
// an edited folder from a folder about to undo what an admin applied since.
type Origin = applied.Origin

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
	o, err := applied.Read(ctx, s.kv, originKey, set.Digest())
	if err != nil {
		return nil, Origin{}, err
	}
	return set, o, nil
}

// writeOrigin records how the set just persisted was applied. It is written
// after the files and carries their digest, so a crash between the two
// writes leaves an origin that is recognisably not the set's (unknown).
func (s *Service) writeOrigin(ctx context.Context, o Origin) error {
	if err := applied.Write(ctx, s.kv, originKey, o); err != nil {
		return err
	}
	s.origin.Store(&o)
	return nil
}

// loadInitial puts the start-up policies in force (see LoadInitial).
func (s *Service) loadInitial(ctx context.Context, dir string) error {
	if err := s.loadLayers(ctx); err != nil {
		return err
	}
	inForce, origin, err := s.readApplied(ctx)
	if err != nil {
		return err
	}
	base := inForce
	if base == nil {
		base = s.set.Load().Base()
	}
	s.applyMu.Lock()
	effective, err := s.withLayers(base)
	s.applyMu.Unlock()
	if err != nil {
		// A layer that no longer fits the files (a group renamed) is
		// dropped from force, loudly; its requests can be approved again.
		s.log.Error("policy layers not in force", "err", err)
		effective = base
	}
	s.set.Store(effective)
	if inForce != nil {
		o := origin
		s.origin.Store(&o)
	}
	keep := func(why string) {
		if inForce == nil {
			s.log.Warn(why+"; no policies were ever applied, so every actor is denied until an admin runs `hub policy apply -f DIR`", "folder", dir)
			return
		}
		s.log.Info(why+"; keeping the set last applied", "folder", dir, "policies", inForce.Len(), "digest", inForce.Digest()[:12],
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
	// (digests are of the files alone: the layers are not replaced)
	if inForce != nil && applied.Overrides(inForce.Digest(), origin, set.Digest(), from) {
		s.override(inForce, origin, set, abs)
	}
	_, err = s.ApplyFrom(ctx, set, from)
	return err
}

// override says loudly, in the log and the audit log, that the folder is
// about to replace a set applied another way, and what that drops.
func (s *Service) override(inForce *policy.Set, origin Origin, set *policy.Set, folder string) {
	d := policy.DiffSets(inForce, set)
	how := origin.HowOn(s.Node)
	s.log.Warn("policies folder replaces the set "+how+" (policy ids: dropped, added, changed); "+
		"to keep an applied set, start with --policies '' (config: policies: \"\") and apply files with `hub policy apply`",
		"folder", folder, "dropped", d.Removed, "added", d.Added, "changed", d.Changed, "groups_changed", d.Groups,
		"applied_route", origin.Route, "applied_by", origin.By, "applied_source", origin.Source, "applied_at", origin.At,
		"applied_digest", inForce.Digest()[:12], "folder_digest", set.Digest()[:12])
	var prev any
	if origin.Route != "" {
		prev = origin
	}
	s.record(audit.Entry{Kind: audit.KindPolicyOverride, Actor: ByStart, Subject: set.Digest()[:12],
		Detail: mustJSON(map[string]any{"folder": folder, "digest": set.Digest(), "previous_digest": inForce.Digest(), "previous_origin": prev,
			"dropped": d.Removed, "added": d.Added, "changed": d.Changed, "groups_changed": d.Groups})})
}
