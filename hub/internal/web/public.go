package web

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/jobtech-dev/datahub/connector-kit/jobstream"
	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/hub/internal/jobstore"
	"github.com/jobtech-dev/datahub/hub/internal/registry"
	"github.com/jobtech-dev/datahub/hub/internal/store"
)

// rates keeps, per dataset, recent samples of its last sequence, to tell
// records stored a minute from the stream state alone.
type rates struct {
	mu sync.Mutex
	by map[string][]sample
}

type sample struct {
	at  time.Time
	seq uint64
}

func newRates() *rates { return &rates{by: map[string][]sample{}} }

// note records a sample and returns records a minute over the last minute
// of samples (-1 when there is not yet a second sample to tell).
func (r *rates) note(dataset string, seq uint64, now time.Time) float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	ss := r.by[dataset]
	if len(ss) == 0 || now.Sub(ss[len(ss)-1].at) >= time.Second {
		ss = append(ss, sample{now, seq})
	}
	for len(ss) > 2 && now.Sub(ss[1].at) > time.Minute {
		ss = ss[1:]
	}
	r.by[dataset] = ss
	first, last := ss[0], ss[len(ss)-1]
	if len(ss) < 2 || last.at.Sub(first.at) < time.Second || last.seq < first.seq {
		return -1
	}
	return float64(last.seq-first.seq) / last.at.Sub(first.at).Minutes()
}

// datasetCard is a dataset as the catalog shows it.
type datasetCard struct {
	*registry.Dataset
	Stats     store.Stats
	StatsErr  bool
	Rate      float64 // records a minute, -1 unknown
	Retention string
	JobStream bool
	Services  []jobstore.Service
	Schema    schemaView
	Pending   bool // signed-in actor: a request of theirs is pending
}

func (w *Web) card(ctx context.Context, d *registry.Dataset) datasetCard {
	c := datasetCard{Dataset: d, Retention: "kept forever", JobStream: d.Open && jobstream.Serves(d.Key, d.Tombstone)}
	if d.Retention > 0 {
		c.Retention = "kept " + d.Retention.String()
	}
	st, err := store.DatasetStats(ctx, w.JetStream, d.Name) // stream info: no record is read
	c.Stats, c.StatsErr = st, err != nil
	c.Rate = w.rates.note(d.Name, st.LastSeq, time.Now())
	return c
}

func (w *Web) home(rw http.ResponseWriter, r *http.Request) {
	ctx, cancel := requestCtx(r)
	defer cancel()
	var cards []datasetCard
	for _, d := range w.Registry.List() {
		cards = append(cards, w.card(ctx, d))
	}
	w.render(rw, r, http.StatusOK, "home", page{Title: "Datasets", Section: "datasets", Data: cards})
}

// dataset is the declared dataset the path names, or nil after a 404 page.
func (w *Web) dataset(rw http.ResponseWriter, r *http.Request) *registry.Dataset {
	name := r.PathValue("dataset")
	d, ok := w.Registry.Get(name)
	if !wire.ValidName(name) || !ok {
		w.notFound(rw, r, "No dataset of that name is declared on this hub.")
		return nil
	}
	return d
}

func (w *Web) datasetPage(rw http.ResponseWriter, r *http.Request) {
	d := w.dataset(rw, r)
	if d == nil {
		return
	}
	ctx, cancel := requestCtx(r)
	defer cancel()
	c := w.card(ctx, d)
	c.Schema = w.schemaOf(d)
	if w.Services != nil {
		c.Services, _ = w.Services.Search(ctx, "", "", d.Name, "")
	}
	w.render(rw, r, http.StatusOK, "dataset", page{Title: d.Title, Section: "datasets", Data: c})
}

// datasetStats answers the live counters' poll: records stored and the rate.
func (w *Web) datasetStats(rw http.ResponseWriter, r *http.Request) {
	d := w.dataset(rw, r)
	if d == nil {
		return
	}
	ctx, cancel := requestCtx(r)
	defer cancel()
	c := w.card(ctx, d)
	rw.Header().Set("Content-Type", "application/json")
	rw.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(rw).Encode(map[string]any{"records": c.Stats.Records, "bytes": c.Stats.Bytes, "keys": c.Stats.Keys,
		"per_minute": c.Rate, "last_at": c.Stats.LastAt})
}

// servicesView is the Jobstore page.
type servicesView struct {
	Q, Category, Dataset string
	Categories           []string
	Datasets             []*registry.Dataset
	Services             []jobstore.Service
}

func (w *Web) servicesPage(rw http.ResponseWriter, r *http.Request) {
	ctx, cancel := requestCtx(r)
	defer cancel()
	q := r.URL.Query()
	v := servicesView{Q: q.Get("q"), Category: q.Get("category"), Dataset: q.Get("dataset"), Categories: jobstore.Categories, Datasets: w.Registry.List()}
	if len(v.Q) > 200 {
		v.Q = v.Q[:200]
	}
	var err error
	if v.Services, err = w.Services.Search(ctx, v.Q, v.Category, v.Dataset, ""); err != nil {
		w.fail(rw, r, http.StatusServiceUnavailable, "The Jobstore cannot be read now: "+err.Error())
		return
	}
	w.render(rw, r, http.StatusOK, "services", page{Title: "Jobstore", Section: "services", Data: v})
}

func (w *Web) servicePage(rw http.ResponseWriter, r *http.Request) {
	ctx, cancel := requestCtx(r)
	defer cancel()
	s, err := w.Services.Get(ctx, r.PathValue("actor"), r.PathValue("service"))
	if err != nil {
		w.notFound(rw, r, "No such service in the Jobstore.")
		return
	}
	w.render(rw, r, http.StatusOK, "service", page{Title: s.Title, Section: "services", Data: s})
}
