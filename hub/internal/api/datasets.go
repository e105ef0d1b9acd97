package api

import (
	"fmt"
	"net/http"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/hub/internal/delivery"
	"github.com/jobtech-dev/datahub/hub/internal/registry"
	"github.com/jobtech-dev/datahub/hub/internal/store"
	"github.com/jobtech-dev/datahub/internal/problem"
)

// DatasetInfo is how the API describes a dataset.
type DatasetInfo struct {
	Name          string `json:"name"`
	Title         string `json:"title,omitempty"`
	Description   string `json:"description,omitempty"`
	Owner         string `json:"owner"`
	Key           string `json:"key"`
	Tombstone     string `json:"tombstone,omitempty"`
	KeyScope      string `json:"key_scope"`
	Retention     string `json:"retention"`
	DedupeWindow  string `json:"dedupe_window"`
	MaxPerKey     int64  `json:"max_per_key,omitempty"`
	SchemaVersion int    `json:"schema_version"`
	// Validator is what checks records of the latest schema version: "fast"
	// (the one-pass validator compiled from the schema) or "reference
	// (why)", e.g. "reference (unsupported keyword $dynamicRef at
	// /properties/x)".
	Validator string `json:"validator"`
	// Compatibility and CompatibilityPolicy are how a new schema version
	// is checked.
	Compatibility       string `json:"compatibility,omitempty"`
	CompatibilityPolicy string `json:"compatibility_policy,omitempty"`
	// Retired is set for a dataset taken out of the declarations: its
	// records are kept and readable, publishes are refused.
	Retired *registry.Retirement `json:"retired,omitempty"`
	Stats   *store.Stats         `json:"stats,omitempty"`
	// Versions lists its schema versions (GET of one dataset only).
	Versions []wire.SchemaVersionInfo `json:"versions,omitempty"`
	// File is the declaration file it was last applied from (one dataset only).
	File string `json:"file,omitempty"`
}

func (a *api) info(r *http.Request, d *registry.Dataset) DatasetInfo {
	ret := "forever"
	if d.Retention > 0 {
		ret = d.Retention.String()
	}
	i := DatasetInfo{Name: d.Name, Title: d.Title, Description: d.Description, Owner: d.Owner, Key: d.Key,
		Tombstone: d.Tombstone, KeyScope: d.KeyScope, Retention: ret, DedupeWindow: d.DedupeWindow.String(), MaxPerKey: d.MaxPerKey,
		SchemaVersion: d.SchemaVersion, Validator: d.Validator(), Compatibility: string(d.Compatibility), CompatibilityPolicy: string(d.CompatibilityPolicy), Retired: d.Retired}
	if st, err := store.DatasetStats(r.Context(), a.JetStream, d.Name); err == nil {
		i.Stats = &st
	} else {
		a.log.Warn("dataset stats", "dataset", d.Name, "err", err)
	}
	return i
}

// dataset is the declared dataset the path names. The name is checked
// before it is looked up or reaches a subject: anything else is a 404.
func (a *api) dataset(r *http.Request) (*registry.Dataset, error) {
	name := r.PathValue("dataset")
	if !wire.ValidName(name) {
		return nil, problem.New(wire.CodeNotFound, fmt.Sprintf("%s is not a dataset name ([a-z][a-z0-9-]{0,62})", quoteShort(name)))
	}
	d, ok := a.Registry.Get(name)
	if !ok {
		return nil, problem.New(wire.CodeNotFound, fmt.Sprintf("dataset %q is not declared on this hub", name))
	}
	return d, nil
}

func (a *api) listDatasets(w http.ResponseWriter, r *http.Request) error {
	out := []DatasetInfo{}
	for _, d := range a.Registry.List() {
		out = append(out, a.info(r, d))
	}
	return problem.WriteJSON(w, http.StatusOK, out)
}

func (a *api) getDataset(w http.ResponseWriter, r *http.Request) error {
	d, err := a.dataset(r)
	if err != nil {
		return err
	}
	i := a.info(r, d)
	i.Versions, i.File = delivery.VersionList(d).Versions, d.File
	return problem.WriteJSON(w, http.StatusOK, i)
}

func (a *api) getSchema(w http.ResponseWriter, r *http.Request) error {
	d, err := a.dataset(r)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/schema+json")
	w.Header().Set("Hub-Schema-Version", fmt.Sprint(d.SchemaVersion))
	_, err = w.Write(d.SchemaDoc)
	return err
}
