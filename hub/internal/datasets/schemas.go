package datasets

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/jobtech-dev/datahub/hub/internal/applied"
	"github.com/jobtech-dev/datahub/hub/internal/audit"
	"github.com/jobtech-dev/datahub/hub/internal/compat"
	"github.com/jobtech-dev/datahub/hub/internal/registry"
)

// RouteActor is the route of a schema version an actor registered through
// its kit or sidecar (the policies give it register-schema on the dataset).
const RouteActor = "actor"

// ErrRetired is returned for a schema registered on a retired dataset.
var ErrRetired = errors.New("dataset retired")

// AddResult says what [Service.AddSchema] did.
type AddResult struct {
	Dataset string `json:"dataset"`
	// Version is the number the schema has: the new version, or the
	// latest when the schema was already it (Changed false).
	Version int  `json:"version"`
	Changed bool `json:"changed"`
	// Report is the compatibility check that let it in.
	Report compat.Report `json:"report"`
}

// candidate makes doc a candidate version of d: named as its latest
// version, so relative $refs resolve alike, and reaching what the latest
// version reached and every dataset's latest schema.
func (s *Service) candidate(d *registry.Dataset, doc []byte) (*registry.Version, error) {
	latest := d.Latest()
	src := registry.Source{Name: latest.Source.Name, Doc: doc, Resources: map[string][]byte{}}
	for k, b := range latest.Source.Resources {
		src.Resources[k] = b
	}
	for _, o := range s.Registry.List() {
		if l := o.Latest(); l != nil && o.Name != d.Name {
			if _, ok := src.Resources[l.Source.Name]; !ok {
				src.Resources[l.Source.Name] = l.Source.Doc
			}
		}
	}
	v := &registry.Version{Number: latest.Number + 1, Source: registry.Narrow(src)}
	if err := registry.Compile(d, v, s.CompileOptions...); err != nil {
		return nil, fmt.Errorf("%w: dataset %s: %w", registry.ErrInvalidDeclaration, d.Name, err)
	}
	return v, nil
}

// dataset is the dataset called name in force.
func (s *Service) dataset(name string) (*registry.Dataset, error) {
	return s.Registry.Find(name)
}

// CheckSchema checks doc as the next version of dataset's schema under the
// dataset's compatibility mode, registering nothing. A doc that is not a
// valid schema is an error wrapping registry.ErrInvalidDeclaration.
func (s *Service) CheckSchema(ctx context.Context, dataset string, doc []byte) (compat.Report, error) {
	d, err := s.dataset(dataset)
	if err != nil {
		return compat.Report{}, err
	}
	v, err := s.candidate(d, doc)
	if err != nil {
		return compat.Report{}, err
	}
	return s.report(d, d.Versions, v)
}

// AddSchema registers doc as the next version of dataset's schema, by by
// through route, only if it passes the dataset's compatibility mode;
// otherwise it returns an *[IncompatibleError] (wrapping [ErrIncompatible])
// and nothing changes. A doc that is the latest version's schema already
// registers nothing. The registration is audited before it returns.
func (s *Service) AddSchema(ctx context.Context, dataset string, doc []byte, by, route string) (AddResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, err := s.dataset(dataset)
	if err != nil {
		return AddResult{}, err
	}
	if d.Retired != nil {
		return AddResult{}, fmt.Errorf("dataset %s: %w since %s: declare it again to register schemas", dataset, ErrRetired, d.Retired.At.UTC().Format("2006-01-02T15:04:05Z"))
	}
	v, err := s.candidate(d, doc)
	if err != nil {
		return AddResult{}, err
	}
	res := AddResult{Dataset: dataset, Version: d.Latest().Number}
	if v.Digest == d.Latest().Digest {
		res.Report = compat.Report{Mode: d.Compatibility, Version: res.Version, Compatible: true, Checked: []int{}, Breaking: []compat.Change{}}
		return res, nil
	}
	if res.Report, err = s.report(d, d.Versions, v); err != nil {
		return res, err
	}
	if !res.Report.Compatible {
		return res, &IncompatibleError{Dataset: dataset, Report: res.Report}
	}
	v.RegisteredAt, v.By, v.Route = s.Now().UTC(), by, route
	from := s.current()
	next := make([]*registry.Dataset, 0, len(from.datasets))
	for _, o := range from.datasets {
		if o.Name == dataset {
			o = o.WithVersions(append(slices.Clone(o.Versions), v))
		}
		next = append(next, o)
	}
	oroute := route
	if route == RouteActor {
		oroute = applied.RouteAPI // the state changed outside any folder
	}
	if _, err := s.commit(ctx, from, next, map[string][]*registry.Version{dataset: {v}},
		applied.Origin{Route: oroute, By: by, Source: "schema version " + fmt.Sprint(v.Number) + " of " + dataset}, false); err != nil {
		return res, err
	}
	res.Version, res.Changed = v.Number, true
	s.log.Info("schema version registered", "dataset", dataset, "version", v.Number, "by", by, "route", route)
	if err := s.recordNow(ctx, audit.Entry{Kind: audit.KindSchemaRegister, Actor: by, Subject: dataset,
		Detail: mustJSON(map[string]any{"dataset": dataset, "version": v.Number, "digest": v.Digest, "route": route,
			"mode": res.Report.Mode, "checked": res.Report.Checked})}); err != nil {
		return res, fmt.Errorf("schema version %d of %s registered, but %w", v.Number, dataset, err)
	}
	return res, nil
}

// Diff lists every change from version from to version to of dataset's
// schema, compatible ones too (under the dataset's policy). A version the
// dataset does not have is an error wrapping [ErrUnknownVersion].
func (s *Service) Diff(dataset string, from, to int) ([]compat.Change, error) {
	d, err := s.dataset(dataset)
	if err != nil {
		return nil, err
	}
	a, err := version(d, from)
	if err != nil {
		return nil, err
	}
	b, err := version(d, to)
	if err != nil {
		return nil, err
	}
	return compat.Diff(a.Source.Document(a.Number), b.Source.Document(b.Number), compat.WithPolicy(d.CompatibilityPolicy))
}

// version returns version n of d, or an error wrapping [ErrUnknownVersion]
// that names the versions it has.
func version(d *registry.Dataset, n int) (*registry.Version, error) {
	if v, ok := d.Version(n); ok {
		return v, nil
	}
	return nil, fmt.Errorf("dataset %s has no schema version %d (it has %s): %w", d.Name, n, Range(d), ErrUnknownVersion)
}

// Range says which versions d has: "1", "1-3".
func Range(d *registry.Dataset) string {
	if len(d.Versions) == 0 {
		return "none"
	}
	first, last := d.Versions[0].Number, d.Latest().Number
	if first == last {
		return fmt.Sprint(first)
	}
	return fmt.Sprintf("%d-%d", first, last)
}
