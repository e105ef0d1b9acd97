package registry

import (
	"time"

	"github.com/jobtech-dev/datahub/connector-kit/schema"
	"github.com/jobtech-dev/datahub/hub/internal/compat"
)

// Declaration is what a dataset.yaml declares, normalised (durations as
// durations, defaults filled in): how the hub keeps a dataset's declaration
// in its state and how the API shows it.
type Declaration struct {
	Name                string        `json:"name"`
	Title               string        `json:"title,omitempty"`
	Description         string        `json:"description,omitempty"`
	Owner               string        `json:"owner"`
	Key                 string        `json:"key"`
	Tombstone           string        `json:"tombstone,omitempty"`
	KeyScope            string        `json:"key_scope"`
	Retention           time.Duration `json:"retention"`
	DedupeWindow        time.Duration `json:"dedupe_window"`
	MaxPerKey           int64         `json:"max_per_key,omitempty"`
	Replicas            int           `json:"replicas,omitempty"`
	Compatibility       compat.Mode   `json:"compatibility"`
	CompatibilityPolicy compat.Policy `json:"compatibility_policy"`
	// TaxonomyDeprecated is the reaction to a deprecated taxonomy concept.
	TaxonomyDeprecated schema.DeprecatedReaction `json:"taxonomy_deprecated,omitempty"`
	// Open is open data (the public catalog serves it to anyone).
	Open bool `json:"open,omitempty"`
	// Schema is the schema file as declared (relative to the declaration).
	Schema string `json:"schema"`
	// File is the declaration file it was last applied from; it is not part
	// of what the dataset is (a folder moved elsewhere declares the same).
	File string `json:"file,omitempty"`
}

// Declaration returns d's declaration.
func (d *Dataset) Declaration() Declaration {
	return Declaration{Name: d.Name, Title: d.Title, Description: d.Description, Owner: d.Owner, Key: d.Key,
		Tombstone: d.Tombstone, KeyScope: d.KeyScope, Retention: d.Retention, DedupeWindow: d.DedupeWindow,
		MaxPerKey: d.MaxPerKey, Replicas: d.Replicas, Compatibility: d.Compatibility, CompatibilityPolicy: d.CompatibilityPolicy,
		TaxonomyDeprecated: d.TaxonomyDeprecated, Open: d.Open, Schema: d.SchemaName, File: d.File}
}

// Dataset returns a dataset with this declaration and no versions (see
// [Dataset.WithVersions]). Defaults are filled in for fields left empty.
func (c Declaration) Dataset() *Dataset {
	d := &Dataset{Name: c.Name, Title: c.Title, Description: c.Description, Owner: c.Owner, Key: c.Key,
		Tombstone: c.Tombstone, KeyScope: c.KeyScope, Retention: c.Retention, DedupeWindow: c.DedupeWindow,
		MaxPerKey: c.MaxPerKey, Replicas: c.Replicas, Compatibility: c.Compatibility, CompatibilityPolicy: c.CompatibilityPolicy,
		TaxonomyDeprecated: c.TaxonomyDeprecated, Open: c.Open, SchemaName: c.Schema, File: c.File, keyPtr: fieldPointer(c.Key), tombstonePtr: fieldPointer(c.Tombstone)}
	if d.KeyScope == "" {
		d.KeyScope = DefaultKeyScope
	}
	if d.DedupeWindow == 0 {
		d.DedupeWindow = DefaultDedupeWindow
	}
	if d.Compatibility == "" {
		d.Compatibility = compat.DefaultMode
	}
	if d.CompatibilityPolicy == "" {
		d.CompatibilityPolicy = compat.Strict
	}
	if d.TaxonomyDeprecated == "" {
		d.TaxonomyDeprecated = schema.WarnDeprecated
	}
	return d
}

// Changes lists the fields of the declaration (by their dataset.yaml names)
// that differ from old's; File does not count.
func (c Declaration) Changes(old Declaration) []string {
	var out []string
	add := func(changed bool, field string) {
		if changed {
			out = append(out, field)
		}
	}
	add(c.Title != old.Title, "title")
	add(c.Description != old.Description, "description")
	add(c.Owner != old.Owner, "owner")
	add(c.Key != old.Key, "key")
	add(c.Tombstone != old.Tombstone, "tombstone")
	add(c.KeyScope != old.KeyScope, "key_scope")
	add(c.Retention != old.Retention, "retention")
	add(c.DedupeWindow != old.DedupeWindow, "dedupe_window")
	add(c.MaxPerKey != old.MaxPerKey, "max_per_key")
	add(c.Replicas != old.Replicas, "replicas")
	add(c.Compatibility != old.Compatibility, "compatibility")
	add(c.CompatibilityPolicy != old.CompatibilityPolicy, "compatibility_policy")
	add(c.TaxonomyDeprecated != old.TaxonomyDeprecated, "taxonomy_deprecated")
	add(c.Open != old.Open, "open")
	add(c.Schema != old.Schema, "schema")
	return out
}
