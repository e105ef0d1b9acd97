package datasets

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/jobtech-dev/datahub/hub/internal/registry"
)

// Bucket is the KV bucket that holds the registry's state.
const Bucket = "hub_datasets"

// Keys of the bucket.
const (
	headKey   = "head"
	originKey = "origin"
	// versionPrefix starts a schema version's key: v.<dataset>.<number>.
	versionPrefix = "v."
)

func versionKey(dataset string, n int) string {
	return versionPrefix + dataset + "." + strconv.Itoa(n)
}

// head is every dataset's declaration and the range of its versions: the
// state's commit point.
type head struct {
	Datasets []storedDataset `json:"datasets"`
}

type storedDataset struct {
	registry.Declaration
	// First and Latest are the numbers of its first and latest version;
	// every number between is registered.
	First   int                  `json:"first_version"`
	Latest  int                  `json:"latest_version"`
	Retired *registry.Retirement `json:"retired,omitempty"`
}

// storedVersion is one schema version: documents as text, so the bucket
// reads as JSON.
type storedVersion struct {
	Dataset      string            `json:"dataset"`
	Number       int               `json:"version"`
	Name         string            `json:"name"`
	Doc          string            `json:"doc"`
	Resources    map[string]string `json:"resources,omitempty"`
	Digest       string            `json:"digest"`
	RegisteredAt time.Time         `json:"registered_at"`
	By           string            `json:"by"`
	Route        string            `json:"route"`
}

func toStored(dataset string, v *registry.Version) storedVersion {
	sv := storedVersion{Dataset: dataset, Number: v.Number, Name: v.Source.Name, Doc: string(v.Source.Doc),
		Digest: v.Digest, RegisteredAt: v.RegisteredAt, By: v.By, Route: v.Route}
	if len(v.Source.Resources) > 0 {
		sv.Resources = make(map[string]string, len(v.Source.Resources))
		for k, b := range v.Source.Resources {
			sv.Resources[k] = string(b)
		}
	}
	return sv
}

func (sv storedVersion) version() *registry.Version {
	v := &registry.Version{Number: sv.Number, Source: registry.Source{Name: sv.Name, Doc: []byte(sv.Doc)},
		RegisteredAt: sv.RegisteredAt, By: sv.By, Route: sv.Route}
	if len(sv.Resources) > 0 {
		v.Source.Resources = make(map[string][]byte, len(sv.Resources))
		for k, s := range sv.Resources {
			v.Source.Resources[k] = []byte(s)
		}
	}
	return v
}

// state is one consistent view of the registry: the datasets (retired ones
// included) and the head's revision in the bucket (0: none yet).
type state struct {
	datasets []*registry.Dataset
	rev      uint64
}

func (st *state) byName() map[string]*registry.Dataset {
	m := make(map[string]*registry.Dataset, len(st.datasets))
	for _, d := range st.datasets {
		m[d.Name] = d
	}
	return m
}

// digest identifies what a set of datasets is: the declarations, the
// latest schema of each and whether it is retired. Version numbers, times
// and the files they came from do not count, so a folder can be compared
// with the state it would make.
func digest(ds []*registry.Dataset) string {
	sorted := slices.Clone(ds)
	slices.SortFunc(sorted, func(a, b *registry.Dataset) int { return strings.Compare(a.Name, b.Name) })
	h := sha256.New()
	for _, d := range sorted {
		decl := d.Declaration()
		decl.File = ""
		b, _ := json.Marshal(decl)
		h.Write(b)
		if v := d.Latest(); v != nil {
			h.Write([]byte(v.Digest))
		}
		if d.Retired != nil {
			h.Write([]byte("retired"))
		}
		h.Write([]byte{'\n'})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// readState reads the head and every version it names, compiled.
func (s *Service) readState(ctx context.Context) (*state, error) {
	e, err := s.kv.Get(ctx, headKey)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return &state{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the dataset registry: %w", err)
	}
	var h head
	if err := json.Unmarshal(e.Value(), &h); err != nil {
		return nil, fmt.Errorf("read the dataset registry: head (revision %d): %w", e.Revision(), err)
	}
	st := &state{rev: e.Revision()}
	for _, sd := range h.Datasets {
		d := sd.Declaration.Dataset()
		d.Retired = sd.Retired
		var versions []*registry.Version
		for n := sd.First; n <= sd.Latest; n++ {
			v, err := s.readVersion(ctx, d, n)
			if err != nil {
				return nil, err
			}
			versions = append(versions, v)
		}
		st.datasets = append(st.datasets, d.WithVersions(versions))
	}
	return st, nil
}

// readVersion reads and compiles version n of d.
func (s *Service) readVersion(ctx context.Context, d *registry.Dataset, n int) (*registry.Version, error) {
	e, err := s.kv.Get(ctx, versionKey(d.Name, n))
	if err != nil {
		return nil, fmt.Errorf("read schema version %d of dataset %s: %w", n, d.Name, err)
	}
	var sv storedVersion
	if err := json.Unmarshal(e.Value(), &sv); err != nil {
		return nil, fmt.Errorf("read schema version %d of dataset %s: %w", n, d.Name, err)
	}
	v := sv.version()
	if err := registry.Compile(d, v, s.CompileOptions...); err != nil {
		return nil, fmt.Errorf("schema version %d of dataset %s: %w", n, d.Name, err)
	}
	return v, nil
}

// writeVersion stores a new version before a head names it. A key left by
// a change that never committed its head (nothing names it) is replaced.
func (s *Service) writeVersion(ctx context.Context, dataset string, v *registry.Version) error {
	b, err := json.Marshal(toStored(dataset, v))
	if err != nil {
		return err
	}
	k := versionKey(dataset, v.Number)
	if _, err := s.kv.Create(ctx, k, b); err == nil {
		return nil
	} else if !errors.Is(err, jetstream.ErrKeyExists) {
		return fmt.Errorf("store schema version %d of dataset %s: %w", v.Number, dataset, err)
	}
	if _, err := s.kv.Put(ctx, k, b); err != nil {
		return fmt.Errorf("store schema version %d of dataset %s: %w", v.Number, dataset, err)
	}
	return nil
}

// writeHead commits ds as the state, if the head is still at rev.
func (s *Service) writeHead(ctx context.Context, ds []*registry.Dataset, rev uint64) (uint64, error) {
	var h head
	for _, d := range ds {
		sd := storedDataset{Declaration: d.Declaration(), Retired: d.Retired}
		if len(d.Versions) > 0 {
			sd.First, sd.Latest = d.Versions[0].Number, d.Latest().Number
		}
		h.Datasets = append(h.Datasets, sd)
	}
	slices.SortFunc(h.Datasets, func(a, b storedDataset) int { return strings.Compare(a.Name, b.Name) })
	b, err := json.Marshal(h)
	if err != nil {
		return 0, err
	}
	var next uint64
	if rev == 0 {
		next, err = s.kv.Create(ctx, headKey, b)
	} else {
		next, err = s.kv.Update(ctx, headKey, b, rev)
	}
	if err != nil {
		if apiErr := (*jetstream.APIError)(nil); errors.Is(err, jetstream.ErrKeyExists) ||
			(errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence) {
			return 0, ErrChangedMeanwhile
		}
		return 0, fmt.Errorf("store the dataset registry: %w", err)
	}
	return next, nil
}
