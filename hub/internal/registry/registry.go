package registry

import (
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
)

// Registry holds the current set of datasets. It is safe for concurrent use:
// readers load an immutable snapshot through an atomic pointer and never
// block; [Registry.Replace] swaps in a new snapshot.
type Registry struct {
	snap atomic.Pointer[snapshot]
}

// snapshot is one immutable set of datasets.
type snapshot struct {
	byName map[string]*Dataset
	sorted []*Dataset
}

// New returns a registry holding ds. If two datasets share a name, the later wins.
func New(ds ...*Dataset) *Registry {
	r := &Registry{}
	r.Replace(ds)
	return r
}

// Get returns the dataset called name. Callers that need an error wrap
// [ErrUnknownDataset], or use [Registry.Find].
func (r *Registry) Get(name string) (*Dataset, bool) {
	d, ok := r.snap.Load().byName[name]
	return d, ok
}

// Find returns the dataset called name, or an error wrapping [ErrUnknownDataset].
func (r *Registry) Find(name string) (*Dataset, error) {
	if d, ok := r.Get(name); ok {
		return d, nil
	}
	return nil, fmt.Errorf("dataset %q: %w", name, ErrUnknownDataset)
}

// List returns every dataset, sorted by name. The slice is the caller's.
func (r *Registry) List() []*Dataset {
	return slices.Clone(r.snap.Load().sorted)
}

// Replace atomically replaces the whole set of datasets with ds; readers see
// either the old set or the new one, never a mix.
func (r *Registry) Replace(ds []*Dataset) {
	s := &snapshot{byName: make(map[string]*Dataset, len(ds))}
	for _, d := range ds {
		if d != nil {
			s.byName[d.Name] = d
		}
	}
	for _, d := range s.byName {
		s.sorted = append(s.sorted, d)
	}
	slices.SortFunc(s.sorted, func(a, b *Dataset) int { return strings.Compare(a.Name, b.Name) })
	r.snap.Store(s)
}
