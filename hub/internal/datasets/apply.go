package datasets

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/hub/internal/applied"
	"github.com/jobtech-dev/datahub/hub/internal/audit"
	"github.com/jobtech-dev/datahub/hub/internal/compat"
	"github.com/jobtech-dev/datahub/hub/internal/registry"
	"github.com/jobtech-dev/datahub/hub/internal/store"
)

// Actions an apply takes on a dataset.
const (
	ActionAdded     = "added"     // new: its stream was created
	ActionChanged   = "changed"   // its declaration changed, or a schema version was registered
	ActionRetired   = "retired"   // left out with prune: records kept, publishes refused
	ActionRestored  = "restored"  // retired, declared again
	ActionKept      = "kept"      // in force but left out (no prune): kept as it is
	ActionUnchanged = "unchanged" // declared as it is in force
)

// ApplyOptions tune an apply.
type ApplyOptions struct {
	// Prune retires the datasets in force that the declarations leave
	// out; without it they are kept, and named in the result.
	Prune bool
	// DryRun checks everything and reports what the apply would do,
	// changing nothing.
	DryRun bool
}

// Change is what an apply does to one dataset.
type Change struct {
	Dataset string `json:"dataset"`
	Action  string `json:"action"`
	// Fields are the declaration's fields that changed (dataset.yaml names).
	Fields []string `json:"fields,omitempty"`
	// Version is the schema version the apply registered, 0 for none.
	Version int `json:"version,omitempty"`
}

// ApplyResult says what an apply did (or, for a dry run, would do).
type ApplyResult struct {
	// Changed is false when the declarations were already in force.
	Changed bool `json:"changed"`
	DryRun  bool `json:"dry_run,omitempty"`
	// Digest identifies the state now in force.
	Digest   string   `json:"digest"`
	Datasets []Change `json:"datasets"`
	// Warnings name what deserves a look: datasets kept though left out,
	// limits lowered so the stream now removes records.
	Warnings []string `json:"warnings,omitempty"`
	// Recut counts live connections cut to be judged again with the new
	// set of datasets.
	Recut int `json:"recut"`
}

// Count returns how many datasets the apply took action on.
func (r ApplyResult) Count(action string) int {
	n := 0
	for _, c := range r.Datasets {
		if c.Action == action {
			n++
		}
	}
	return n
}

// Apply puts the declarations ds (as [registry.LoadFiles] returns them) in
// force, all or nothing, as o says they were applied: new datasets get
// their streams; a changed declaration is checked (a key scope cannot
// change under stored records) and its stream updated; a schema that
// differs from the dataset's latest version is registered as the next
// version if it passes the dataset's compatibility mode; a schema_version
// that disagrees with the registry is refused. Datasets in force that ds
// leaves out are kept, or retired with opts.Prune (their records stay).
//
// Any mistake changes nothing: the error joins every one, each naming the
// declaration file, line and field (wrapping registry.ErrInvalidDeclaration)
// or listing a schema's breaking changes ([ErrIncompatible]). The change is
// audited before Apply returns; an error after the change says so.
func (s *Service) Apply(ctx context.Context, ds []*registry.Dataset, o applied.Origin, opts ApplyOptions) (ApplyResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.apply(ctx, ds, o, opts)
}

// apply is Apply with s.mu held.
func (s *Service) apply(ctx context.Context, ds []*registry.Dataset, o applied.Origin, opts ApplyOptions) (ApplyResult, error) {
	from := s.current()
	p, err := s.plan(ctx, from, ds, o, opts)
	if err != nil {
		return ApplyResult{}, err
	}
	res := p.result
	res.DryRun = opts.DryRun
	res.Digest = digest(p.next)
	if !res.Changed || opts.DryRun {
		if !opts.DryRun {
			res.Digest = digest(from.datasets)
		}
		return res, nil
	}
	undo, err := s.ensureStreams(ctx, p)
	if err != nil {
		return ApplyResult{}, err
	}
	res.Recut, err = s.commit(ctx, from, p.next, p.fresh, o, p.setChanged)
	if err != nil {
		undo()
		return ApplyResult{}, err
	}
	s.log.Info("datasets applied", "by", o.By, "route", o.Route, "source", o.Source, "added", res.Count(ActionAdded),
		"changed", res.Count(ActionChanged), "retired", res.Count(ActionRetired), "restored", res.Count(ActionRestored), "recut", res.Recut)
	var changes []Change
	for _, c := range res.Datasets {
		if c.Action != ActionUnchanged {
			changes = append(changes, c)
		}
	}
	if err := s.recordNow(ctx, audit.Entry{Kind: audit.KindDatasetApply, Actor: o.By, Subject: res.Digest[:12],
		Detail: mustJSON(map[string]any{"digest": res.Digest, "previous": digest(from.datasets), "route": o.Route, "source": o.Source,
			"datasets": changes, "warnings": res.Warnings, "recut": res.Recut, "prune": opts.Prune})}); err != nil {
		return res, fmt.Errorf("datasets %s applied, but %w", res.Digest[:12], err)
	}
	return res, nil
}

// plan is what an apply will do: the datasets after it, the versions it
// registers, and its result. It changes nothing.
type plan struct {
	next       []*registry.Dataset
	fresh      map[string][]*registry.Version // versions to store, by dataset
	ensure     []*registry.Dataset            // datasets whose stream is created or updated
	previous   map[string]*registry.Dataset   // their declaration before (nil: new)
	setChanged bool                           // datasets added, retired or restored
	result     ApplyResult
}

// plan works out an apply of ds over from; it returns every mistake.
func (s *Service) plan(ctx context.Context, from *state, ds []*registry.Dataset, o applied.Origin, opts ApplyOptions) (*plan, error) {
	p := &plan{fresh: map[string][]*registry.Version{}, previous: map[string]*registry.Dataset{}}
	cur := from.byName()
	declared := map[string]bool{}
	var errs []error
	now := s.Now().UTC()
	stamp := func(v *registry.Version) {
		v.RegisteredAt, v.By, v.Route = now, o.By, o.Route
	}
	for _, c := range ds {
		declared[c.Name] = true
		cv := c.Latest()
		if cv == nil {
			errs = append(errs, c.SchemaError("no schema loaded"))
			continue
		}
		old := cur[c.Name]
		if old == nil {
			if err := store.CheckKeyScope(ctx, s.JS, c); err != nil {
				errs = append(errs, err)
				continue
			}
			v := *cv
			stamp(&v)
			nd := c.WithVersions([]*registry.Version{&v})
			p.next = append(p.next, nd)
			p.fresh[c.Name] = []*registry.Version{&v}
			p.ensure = append(p.ensure, nd)
			p.setChanged = true
			p.result.Datasets = append(p.result.Datasets, Change{Dataset: c.Name, Action: ActionAdded, Version: v.Number})
			continue
		}
		fields := c.Declaration().Changes(old.Declaration())
		if slices.Contains(fields, "key_scope") {
			if err := store.CheckKeyScope(ctx, s.JS, c); err != nil {
				errs = append(errs, err)
				continue
			}
		}
		versions := old.Versions
		latest := old.Latest()
		change := Change{Dataset: c.Name, Action: ActionChanged, Fields: fields}
		if cv.Digest == latest.Digest {
			if c.DeclaredVersion != 0 && c.DeclaredVersion != latest.Number {
				errs = append(errs, c.VersionError("%d, but this schema is version %d of dataset %s in the registry: set schema_version: %d, or leave it out",
					c.DeclaredVersion, latest.Number, c.Name, latest.Number))
				continue
			}
		} else {
			next := latest.Number + 1
			if c.DeclaredVersion != 0 && c.DeclaredVersion != next {
				errs = append(errs, c.VersionError("%d, but the registry's latest version of dataset %s is %d (%s), and this schema differs from it: "+
					"versions are append-only, so it would be registered as version %d. Set schema_version: %d to register it, or leave schema_version out; "+
					"to keep version %d, put its schema in the folder (hub schema show %s %d)",
					c.DeclaredVersion, c.Name, latest.Number, registeredBy(latest), next, next, latest.Number, c.Name, latest.Number))
				continue
			}
			v := *cv
			v.Number = next
			if err := s.checkCompatible(c, old, &v); err != nil {
				errs = append(errs, err)
				continue
			}
			stamp(&v)
			versions = append(slices.Clone(versions), &v)
			p.fresh[c.Name] = []*registry.Version{&v}
			change.Version = v.Number
		}
		if old.Retired != nil {
			change.Action = ActionRestored
			p.setChanged = true
		}
		if len(fields) == 0 && change.Version == 0 && old.Retired == nil {
			p.next = append(p.next, old)
			p.result.Datasets = append(p.result.Datasets, Change{Dataset: c.Name, Action: ActionUnchanged})
			continue
		}
		nd := c.WithVersions(versions)
		p.next = append(p.next, nd)
		p.ensure = append(p.ensure, nd)
		p.previous[c.Name] = old
		p.result.Datasets = append(p.result.Datasets, change)
		p.result.Warnings = append(p.result.Warnings, tightened(old, nd)...)
	}
	for _, old := range from.datasets {
		if declared[old.Name] {
			continue
		}
		switch {
		case old.Retired != nil:
			p.next = append(p.next, old)
		case opts.Prune:
			nd := *old
			nd.Retired = &registry.Retirement{At: now, By: o.By}
			p.next = append(p.next, &nd)
			p.setChanged = true
			p.result.Datasets = append(p.result.Datasets, Change{Dataset: old.Name, Action: ActionRetired})
		default:
			p.next = append(p.next, old)
			p.result.Datasets = append(p.result.Datasets, Change{Dataset: old.Name, Action: ActionKept})
			p.result.Warnings = append(p.result.Warnings, fmt.Sprintf("dataset %s is in force but not among the declarations applied: kept as it is "+
				"(apply the whole folder with --prune to retire it; its records are kept)", old.Name))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	slices.SortFunc(p.result.Datasets, func(a, b Change) int { return strings.Compare(a.Dataset, b.Dataset) })
	for _, c := range p.result.Datasets {
		if c.Action != ActionUnchanged && c.Action != ActionKept {
			p.result.Changed = true
		}
	}
	return p, nil
}

// checkCompatible checks candidate version v of c (declared over old)
// against old's versions under c's compatibility mode and policy.
func (s *Service) checkCompatible(c, old *registry.Dataset, v *registry.Version) error {
	r, err := s.report(c, old.Versions, v)
	if err != nil {
		return c.SchemaError("%v", err)
	}
	if !r.Compatible {
		return &IncompatibleError{Dataset: c.Name, File: c.File, Report: r}
	}
	return nil
}

// report checks candidate v against history under d's mode and policy.
func (s *Service) report(d *registry.Dataset, history []*registry.Version, v *registry.Version) (compat.Report, error) {
	docs := make([]compat.Document, 0, len(history))
	for _, h := range history {
		docs = append(docs, h.Source.Document(h.Number))
	}
	return compat.Check(d.Compatibility, docs, v.Source.Document(v.Number), compat.WithPolicy(d.CompatibilityPolicy))
}

// registeredBy says how a version came, for errors.
func registeredBy(v *registry.Version) string {
	how := "registered"
	switch v.Route {
	case applied.RouteFolder:
		how += " from a folder at start"
	case applied.RouteAPI:
		how += " through the admin API"
	case RouteActor:
		how += " by actor " + v.By
	}
	if v.Route != RouteActor && v.By != "" {
		how += " by " + v.By
	}
	if !v.RegisteredAt.IsZero() {
		how += " at " + v.RegisteredAt.UTC().Format("2006-01-02T15:04:05Z")
	}
	return how
}

// tightened warns about limits lowered from old to nd: the stream then
// removes records it used to keep.
func tightened(old, nd *registry.Dataset) []string {
	var out []string
	if nd.Retention > 0 && (old.Retention == 0 || nd.Retention < old.Retention) {
		out = append(out, fmt.Sprintf("dataset %s: retention lowered to %s: records older than that are removed by its stream", nd.Name, nd.Retention))
	}
	if nd.MaxPerKey > 0 && (old.MaxPerKey == 0 || nd.MaxPerKey < old.MaxPerKey) {
		out = append(out, fmt.Sprintf("dataset %s: max_per_key lowered to %d: older records of each key beyond that are removed by its stream", nd.Name, nd.MaxPerKey))
	}
	if nd.Key != old.Key {
		out = append(out, fmt.Sprintf("dataset %s: key changed from %q to %q: records stored before are kept under their old keys", nd.Name, old.Key, nd.Key))
	}
	return out
}

// ensureStreams creates or updates the streams of the plan's new and
// changed datasets, and returns how to undo that if the change is not
// committed.
func (s *Service) ensureStreams(ctx context.Context, p *plan) (undo func(), err error) {
	var done []*registry.Dataset
	undo = func() {
		ctx := context.WithoutCancel(ctx)
		for _, d := range done {
			if old := p.previous[d.Name]; old != nil {
				if err := store.EnsureDataset(ctx, s.JS, old, s.replicasOf(old)); err != nil {
					s.log.Error("restore stream after a failed apply", "dataset", d.Name, "err", err)
				}
				continue
			}
			if st, err := s.JS.Stream(ctx, wire.StreamName(d.Name)); err == nil && st.CachedInfo().State.Msgs == 0 {
				_ = s.JS.DeleteStream(ctx, wire.StreamName(d.Name))
			}
		}
	}
	for _, d := range p.ensure {
		if err := store.EnsureDataset(ctx, s.JS, d, s.replicasOf(d)); err != nil {
			undo()
			return nil, err
		}
		done = append(done, d)
	}
	return undo, nil
}
