package api

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"unicode"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/hub/internal/applied"
	"github.com/jobtech-dev/datahub/hub/internal/audit"
	"github.com/jobtech-dev/datahub/hub/internal/compat"
	"github.com/jobtech-dev/datahub/hub/internal/datasets"
	"github.com/jobtech-dev/datahub/hub/internal/delivery"
	"github.com/jobtech-dev/datahub/hub/internal/registry"
	"github.com/jobtech-dev/datahub/internal/problem"
)

// ApplyDatasetsRequest is a schemas folder to apply: each file's path under
// the folder, with forward slashes ("jobads/dataset.yaml",
// "jobads/jobad.schema.json"), to its content.
type ApplyDatasetsRequest struct {
	Files map[string]string `json:"files"`
	// Source optionally says where the files came from (the CLI sends the
	// folder given to -f); it is recorded as the state's origin.
	Source string `json:"source,omitempty"`
	// Prune retires the datasets in force that the files leave out.
	Prune bool `json:"prune,omitempty"`
	// DryRun checks and answers what the apply would do, changing nothing.
	DryRun bool `json:"dry_run,omitempty"`
}

// ApplyDatasetsResult answers an apply: what it did to each dataset, and
// how the state in force was applied.
type ApplyDatasetsResult struct {
	datasets.ApplyResult
	Origin applied.Origin `json:"origin"`
}

// RegistryState answers GET /api/v1/registry: what identifies the datasets
// in force, and how they were last changed.
type RegistryState struct {
	Digest   string         `json:"digest"`
	Origin   applied.Origin `json:"origin"`
	Datasets int            `json:"datasets"`
	Retired  int            `json:"retired"`
}

// SchemaDiff answers GET /api/v1/datasets/{d}/schemas/diff: every change
// between two versions, compatible ones too.
type SchemaDiff struct {
	Dataset string          `json:"dataset"`
	From    int             `json:"from"`
	To      int             `json:"to"`
	Changes []compat.Change `json:"changes"`
}

// Titles of the problems of refused registry changes.
const (
	declarationsRejected = "Dataset declarations rejected; nothing changed"
	schemaRejected       = "Schema rejected; nothing changed"
)

// maxSchemaBytes bounds a schema document sent on its own.
const maxSchemaBytes = 4 << 20

func (a *api) registryState(w http.ResponseWriter, r *http.Request) error {
	st := RegistryState{Digest: a.Datasets.Digest(), Origin: a.Datasets.Origin()}
	for _, d := range a.Registry.List() {
		st.Datasets++
		if d.Retired != nil {
			st.Retired++
		}
	}
	return problem.WriteJSON(w, http.StatusOK, st)
}

func (a *api) applyDatasets(w http.ResponseWriter, r *http.Request) error {
	var req ApplyDatasetsRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	if req.Files == nil {
		return problem.New(wire.CodeBadRequest, `request body needs "files": {"<dataset>/dataset.yaml": content, "<dataset>/<schema>.json": content, ...}`)
	}
	if len(req.Source) > maxSourceLen || strings.ContainsFunc(req.Source, unicode.IsControl) {
		return problem.New(wire.CodeBadRequest, fmt.Sprintf(`request body: "source" must be at most %d characters without control characters`, maxSourceLen))
	}
	files := make(registry.Files, len(req.Files))
	for k, v := range req.Files {
		files[k] = []byte(v)
	}
	ds, err := registry.LoadFiles(files, "", a.Datasets.CompileOptions...)
	if err != nil {
		return rejected(err, declarationsRejected)
	}
	if len(ds) == 0 && req.Prune {
		return problem.New(wire.CodeBadRequest, "no dataset declared: applying nothing with prune would retire every dataset; "+
			"retire datasets by applying the folder without them, with prune")
	}
	res, err := a.Datasets.Apply(r.Context(), ds, applied.Origin{Route: applied.RouteAPI, By: audit.ActorAdmin, Source: req.Source},
		datasets.ApplyOptions{Prune: req.Prune, DryRun: req.DryRun})
	if err != nil {
		return rejected(err, declarationsRejected)
	}
	for _, w := range res.Warnings {
		a.log.Warn("dataset apply", "warning", w)
	}
	return problem.WriteJSON(w, http.StatusOK, ApplyDatasetsResult{ApplyResult: res, Origin: a.Datasets.Origin()})
}

// rejected is the problem of a registry change refused, which changed
// nothing: a schema version alone that its dataset's mode refuses is 409
// with the report; declarations or a schema that do not load, or that the
// registry refuses, are 422 under title; anything else goes by its code.
func rejected(err error, title string) error {
	var ie *datasets.IncompatibleError
	if errors.As(err, &ie) && ie.File == "" {
		p := problem.New(wire.CodeIncompatible, err.Error())
		r := datasets.WireReport(ie.Report)
		p.Compatibility = &r
		return p
	}
	if code := datasets.CodeOf(err); code == wire.CodeInvalid || code == wire.CodeIncompatible {
		p := problem.New(wire.CodeInvalid, err.Error())
		p.Title = title
		return p
	} else {
		return problem.New(code, err.Error())
	}
}

func (a *api) deleteDataset(w http.ResponseWriter, r *http.Request) error {
	d, err := a.dataset(r)
	if err != nil {
		return err
	}
	if c := r.URL.Query().Get("confirm"); c != d.Name {
		return problem.New(wire.CodeBadRequest, fmt.Sprintf("confirm=%s does not name the dataset: to delete %s with every record it holds, send confirm=%s", quoteShort(c), d.Name, d.Name))
	}
	res, err := a.Datasets.Delete(r.Context(), d.Name, audit.ActorAdmin)
	if err != nil {
		return problem.New(datasets.CodeOf(err), err.Error())
	}
	return problem.WriteJSON(w, http.StatusOK, res)
}

func (a *api) listSchemas(w http.ResponseWriter, r *http.Request) error {
	d, err := a.dataset(r)
	if err != nil {
		return err
	}
	return problem.WriteJSON(w, http.StatusOK, delivery.VersionList(d))
}

func (a *api) getSchemaVersion(w http.ResponseWriter, r *http.Request) error {
	d, err := a.dataset(r)
	if err != nil {
		return err
	}
	v := d.Latest()
	if s := r.PathValue("version"); s != "latest" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return problem.New(wire.CodeNotFound, fmt.Sprintf("%s is not a schema version: give its number or latest", quoteShort(s)))
		}
		var ok bool
		if v, ok = d.Version(n); !ok {
			return problem.New(wire.CodeNotFound, fmt.Sprintf("dataset %s has no schema version %d (it has %s)", d.Name, n, datasets.Range(d)))
		}
	}
	return writeSchema(w, d, v)
}

// writeSchema answers version v of d's schema as the document itself.
func writeSchema(w http.ResponseWriter, d *registry.Dataset, v *registry.Version) error {
	w.Header().Set("Content-Type", "application/schema+json")
	w.Header().Set(wire.HeaderSchemaVersion, strconv.Itoa(v.Number))
	w.Header().Set(wire.HeaderSchemaLatest, strconv.Itoa(d.SchemaVersion))
	_, err := w.Write(v.Source.Doc)
	return err
}

// readSchema reads a schema document sent as a request body.
func readSchema(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxSchemaBytes+1))
	if err != nil {
		return nil, problem.New(wire.CodeBadRequest, "read request body: "+err.Error())
	}
	if len(b) > maxSchemaBytes {
		return nil, problem.New(wire.CodeTooLarge, fmt.Sprintf("schema larger than %d bytes", maxSchemaBytes))
	}
	if len(b) == 0 {
		return nil, problem.New(wire.CodeBadRequest, "send the JSON Schema document as the request body")
	}
	return b, nil
}

func (a *api) addSchema(w http.ResponseWriter, r *http.Request) error {
	d, err := a.dataset(r)
	if err != nil {
		return err
	}
	doc, err := readSchema(r)
	if err != nil {
		return err
	}
	res, err := a.Datasets.AddSchema(r.Context(), d.Name, doc, audit.ActorAdmin, applied.RouteAPI)
	if err != nil {
		return rejected(err, schemaRejected)
	}
	status := http.StatusOK
	if res.Changed {
		status = http.StatusCreated
	}
	w.Header().Set(wire.HeaderSchemaVersion, strconv.Itoa(res.Version))
	return problem.WriteJSON(w, status, res)
}

func (a *api) checkSchema(w http.ResponseWriter, r *http.Request) error {
	d, err := a.dataset(r)
	if err != nil {
		return err
	}
	doc, err := readSchema(r)
	if err != nil {
		return err
	}
	rep, err := a.Datasets.CheckSchema(r.Context(), d.Name, doc)
	if err != nil {
		return rejected(err, schemaRejected)
	}
	return problem.WriteJSON(w, http.StatusOK, rep)
}

func (a *api) diffSchemas(w http.ResponseWriter, r *http.Request) error {
	d, err := a.dataset(r)
	if err != nil {
		return err
	}
	to, from := d.SchemaVersion, d.SchemaVersion-1
	for name, dst := range map[string]*int{"from": &from, "to": &to} {
		if s := r.URL.Query().Get(name); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil {
				return problem.New(wire.CodeBadRequest, fmt.Sprintf("query %s=%s: want a version number", name, quoteShort(s)))
			}
			*dst = n
		}
	}
	cs, err := a.Datasets.Diff(d.Name, from, to)
	if err != nil {
		return problem.New(datasets.CodeOf(err), err.Error())
	}
	if cs == nil {
		cs = []compat.Change{}
	}
	return problem.WriteJSON(w, http.StatusOK, SchemaDiff{Dataset: d.Name, From: from, To: to, Changes: cs})
}
