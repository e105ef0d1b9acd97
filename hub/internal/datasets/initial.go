package datasets

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/jobtech-dev/datahub/hub/internal/applied"
	"github.com/jobtech-dev/datahub/hub/internal/audit"
	"github.com/jobtech-dev/datahub/hub/internal/store"
)

// LoadInitial puts the start-up datasets in force: the state last applied,
// then the declarations under dir when dir is not "" and exists (a folder
// that changes nothing is not a change and is not audited again). A folder
// is applied as `hub dataset apply` applies it without --prune: datasets it
// leaves out are kept, with a WARN. When it would replace a state applied
// another way since (through the API or CLI, an actor's kit, or another
// folder), the start says so in a WARN naming the datasets and versions it
// changes, and audits it ([audit.KindDatasetOverride]); with dir "" the
// state last applied stays, whoever applied it. A folder that does not
// load, or that the registry refuses (a schema_version that disagrees with
// it, an incompatible schema, a key scope changed under records), stops the
// start with the error, naming file, line and field.
func (s *Service) LoadInitial(ctx context.Context, dir string) error {
	return s.LoadInitialFolder(ctx, &Folder{dir: dir})
}

// LoadInitialFolder is [Service.LoadInitial] with the folder f, read ahead
// by [ReadFolder] (compiled with the same options as the service's).
//
// Nodes of a cluster starting together apply the same folder to the one
// registry at once: the one that loses the race for the head reads the
// state again and applies its folder over it (then usually a no-op),
// rather than failing its start.
func (s *Service) LoadInitialFolder(ctx context.Context, f *Folder) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for attempt := 1; ; attempt++ {
		err := s.loadInitial(ctx, f)
		if err == nil {
			break
		}
		if !errors.Is(err, ErrChangedMeanwhile) || attempt == initialAttempts {
			return err
		}
		s.log.Info("the dataset registry changed while this start applied its schemas folder (another node starting, or an apply); reading it again",
			"folder", f.dir, "attempt", attempt)
		select {
		case <-ctx.Done():
			return fmt.Errorf("datasets of %s: %w", f.dir, ctx.Err())
		case <-time.After(time.Duration(attempt) * 100 * time.Millisecond):
		}
	}
	return s.ensureInForce(ctx)
}

// initialAttempts bounds how often a start applies its folder when the
// registry keeps changing under it.
const initialAttempts = 5

// ensureInForce makes sure every dataset in force has its stream: a stream
// lost on disk while the hub was down (the integrity record reports it) is
// started again empty, so the dataset keeps taking records, rather than the
// hub answering "unavailable" until someone re-applies a folder.
func (s *Service) ensureInForce(ctx context.Context) error {
	for _, d := range s.Registry.List() {
		if err := store.EnsureDataset(ctx, s.JS, d, s.replicasOf(d)); err != nil {
			return fmt.Errorf("stream of dataset %s: %w", d.Name, err)
		}
	}
	return nil
}

func (s *Service) loadInitial(ctx context.Context, f *Folder) error {
	dir := f.dir
	st, err := s.readState(ctx)
	if err != nil {
		return err
	}
	s.rev = st.rev
	s.Registry.Replace(st.datasets)
	o, err := applied.Read(ctx, s.kv, originKey, digest(st.datasets))
	if err != nil {
		return err
	}
	if o.Route != "" {
		s.origin.Store(&o)
	}
	keep := func(why string) {
		if st.rev == 0 {
			s.log.Warn(why+"; no datasets were ever applied, so the hub serves none until an admin runs `hub dataset apply -f DIR`", "folder", dir)
			return
		}
		s.log.Info(why+"; keeping the datasets last applied", "folder", dir, "datasets", len(st.datasets), "digest", digest(st.datasets)[:12],
			"applied_route", o.Route, "applied_by", o.By, "applied_source", o.Source, "applied_at", o.At)
	}
	if dir == "" {
		keep("no schemas folder given")
		return nil
	}
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		keep("schemas folder not found")
		return nil
	} else if err != nil {
		return fmt.Errorf("schemas folder %s: %w", dir, err)
	}
	ds, err := f.load(s.CompileOptions)
	if err != nil {
		return fmt.Errorf("load datasets from %s: %w", dir, err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		abs = dir
	}
	from := applied.Origin{Route: applied.RouteFolder, By: applied.ByStart, Source: abs}
	p, err := s.plan(ctx, st, ds, from, ApplyOptions{})
	if err != nil {
		return fmt.Errorf("datasets of %s: %w", dir, err)
	}
	if st.rev != 0 && applied.Overrides(digest(st.datasets), o, digest(p.next), from) {
		s.override(st, o, p, abs)
	}
	res, err := s.apply(ctx, ds, from, ApplyOptions{})
	if err != nil {
		return fmt.Errorf("datasets of %s: %w", dir, err)
	}
	for _, w := range res.Warnings {
		s.log.Warn("datasets at start: "+w, "folder", abs)
	}
	return nil
}

// override says loudly, in the log and the audit log, that the folder is
// about to change datasets applied another way, and how.
func (s *Service) override(st *state, o applied.Origin, p *plan, folder string) {
	var changes []Change
	for _, c := range p.result.Datasets {
		if c.Action != ActionUnchanged && c.Action != ActionKept {
			changes = append(changes, c)
		}
	}
	s.log.Warn("schemas folder changes the datasets "+o.How()+"; "+
		"to keep an applied state, start with --schemas '' (config: schemas: \"\") and apply folders with `hub dataset apply`",
		"folder", folder, "changes", changes, "applied_route", o.Route, "applied_by", o.By, "applied_source", o.Source, "applied_at", o.At,
		"applied_digest", digest(st.datasets)[:12], "folder_digest", digest(p.next)[:12])
	var prev any
	if o.Route != "" {
		prev = o
	}
	s.Audit.Submit(audit.Entry{Kind: audit.KindDatasetOverride, Actor: applied.ByStart, Subject: digest(p.next)[:12],
		Detail: mustJSON(map[string]any{"folder": folder, "digest": digest(p.next), "previous_digest": digest(st.datasets),
			"previous_origin": prev, "datasets": changes})})
}
