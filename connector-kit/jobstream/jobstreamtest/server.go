package jobstreamtest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"
	_ "time/tzdata" // JobStream dates are Swedish time
)

// AdsFileName is the file of real ads in the JobTech data folder.
const AdsFileName = "job-ads.ndjson"

// AdsFile returns the path of the real ads in the JobTech data folder dir
// (the repository's testdata/jobtech).
func AdsFile(dir string) string { return filepath.Join(dir, AdsFileName) }

// LoadAds reads one JSON ad per line of an NDJSON file; blank lines are
// skipped, and a line that is not a JSON object is an error naming it.
func LoadAds(path string) ([]json.RawMessage, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var ads []json.RawMessage
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for line := 1; sc.Scan(); line++ {
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		var probe struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(b, &probe); err != nil || probe.ID == "" {
			return nil, fmt.Errorf("%s:%d: not a JSON ad with a string id: %v", path, line, err)
		}
		ads = append(ads, json.RawMessage(bytes.Clone(b)))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return ads, nil
}

// Options configure a Server; the zero value serves no ads to anyone.
type Options struct {
	// Ads are served from the start, each changed at its own "timestamp"
	// (epoch ms; the start time when absent).
	Ads []json.RawMessage
	// APIKey, when set, must be sent in the api-key header; otherwise 401.
	APIKey string
	// Now is the server's clock; nil means time.Now.
	Now func() time.Time
}

// Request is one request the server saw.
type Request struct {
	Path   string
	Query  url.Values
	APIKey string
	Accept string
	Status int
}

// Server is a running fake JobStream.
type Server struct {
	// URL is the base URL, http://127.0.0.1:port.
	URL string

	srv    *httptest.Server
	apiKey string
	now    func() time.Time
	loc    *time.Location

	mu       sync.Mutex
	ads      map[string]*entry
	order    []string // ids in insertion order: the answer order
	failNext int
	requests []Request
}

type entry struct {
	ad      json.RawMessage
	changed time.Time
	removed bool
	fields  adFields
}

type adFields struct {
	ID              string      `json:"id"`
	Timestamp       *int64      `json:"timestamp"`
	RemovedDate     *string     `json:"removed_date"`
	Occupation      *conceptRef `json:"occupation"`
	OccupationGroup *conceptRef `json:"occupation_group"`
	OccupationField *conceptRef `json:"occupation_field"`
	Workplace       *struct {
		Municipality *string `json:"municipality_concept_id"`
		Region       *string `json:"region_concept_id"`
		Country      *string `json:"country_concept_id"`
		City         *string `json:"city_concept_id"`
	} `json:"workplace_address"`
}

type conceptRef struct {
	ConceptID *string `json:"concept_id"`
}

// NewServer starts a fake JobStream on 127.0.0.1, closed when the test
// ends. Ads that are not JSON objects with a string id fail the test.
func NewServer(t testing.TB, opts Options) *Server {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Stockholm")
	if err != nil {
		t.Fatalf("jobstreamtest: %v", err)
	}
	s := &Server{apiKey: opts.APIKey, now: opts.Now, loc: loc, ads: map[string]*entry{}}
	if s.now == nil {
		s.now = time.Now
	}
	start := s.now()
	for i, ad := range opts.Ads {
		e, err := newEntry(ad)
		if err != nil {
			t.Fatalf("jobstreamtest: ad %d: %v", i, err)
		}
		e.changed = start
		if e.fields.Timestamp != nil {
			e.changed = time.UnixMilli(*e.fields.Timestamp)
		}
		s.store(e)
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	t.Cleanup(s.srv.Close)
	return s
}

func newEntry(ad json.RawMessage) (*entry, error) {
	e := &entry{ad: bytes.Clone(ad)}
	if err := json.Unmarshal(ad, &e.fields); err != nil {
		return nil, err
	}
	if e.fields.ID == "" {
		return nil, fmt.Errorf("no string id")
	}
	return e, nil
}

func (s *Server) store(e *entry) {
	if _, ok := s.ads[e.fields.ID]; !ok {
		s.order = append(s.order, e.fields.ID)
	}
	s.ads[e.fields.ID] = e
}

// Put adds an ad or replaces the one with its id, changed now: its
// "timestamp" is set to the server's clock.
func (s *Server) Put(ad json.RawMessage) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(ad, &m); err != nil {
		return fmt.Errorf("jobstreamtest: put: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	m["timestamp"] = json.RawMessage(fmt.Sprint(now.UnixMilli()))
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	e, err := newEntry(b)
	if err != nil {
		return fmt.Errorf("jobstreamtest: put: %w", err)
	}
	e.changed = now
	s.store(e)
	return nil
}

// Remove unpublishes the ad with id now: /snapshot leaves it out and
// /stream shows its removal object from now on.
func (s *Server) Remove(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.ads[id]
	if !ok {
		return fmt.Errorf("jobstreamtest: remove: no ad %q", id)
	}
	now := s.now()
	d := now.In(s.loc).Format("2006-01-02T15:04:05")
	e.removed = true
	e.changed = now
	e.fields.RemovedDate = &d
	return nil
}

// FailNext makes the next n requests answer 503 Service Unavailable.
func (s *Server) FailNext(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext = n
}

// Requests returns the requests seen so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec := Request{Path: r.URL.Path, Query: r.URL.Query(), APIKey: r.Header.Get("api-key"), Accept: r.Header.Get("Accept")}
	status := s.answer(w, r)
	rec.Status = status
	s.requests = append(s.requests, rec)
}

func (s *Server) fail(w http.ResponseWriter, code int, msg string) int {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]string{"message": msg})
	return code
}

func (s *Server) answer(w http.ResponseWriter, r *http.Request) int {
	if r.Method != http.MethodGet {
		return s.fail(w, http.StatusMethodNotAllowed, "GET only")
	}
	if s.failNext > 0 {
		s.failNext--
		return s.fail(w, http.StatusServiceUnavailable, "injected failure")
	}
	if s.apiKey != "" && r.Header.Get("api-key") != s.apiKey {
		return s.fail(w, http.StatusUnauthorized, "You are not using a valid API key")
	}
	var out []json.RawMessage
	switch r.URL.Path {
	case "/snapshot":
		for _, id := range s.order {
			if e := s.ads[id]; !e.removed {
				out = append(out, e.ad)
			}
		}
	case "/stream":
		q := r.URL.Query()
		since, err := s.parseDate(q.Get("date"))
		if err != nil {
			return s.fail(w, http.StatusBadRequest, "date: "+err.Error())
		}
		// JobStream: timestamp >= date and <= updated-before-date + 1 s.
		before := s.now().Add(time.Hour)
		if v := q.Get("updated-before-date"); v != "" {
			if before, err = s.parseDate(v); err != nil {
				return s.fail(w, http.StatusBadRequest, "updated-before-date: "+err.Error())
			}
			before = before.Add(time.Second)
		}
		occ, loc := q["occupation-concept-id"], q["location-concept-id"]
		for _, id := range s.order {
			e := s.ads[id]
			if e.changed.Before(since) || e.changed.After(before) || !e.matches(occ, loc) {
				continue
			}
			if e.removed {
				out = append(out, e.removal())
			} else {
				out = append(out, e.ad)
			}
		}
	default:
		return s.fail(w, http.StatusNotFound, "no such endpoint")
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write([]byte("["))
	for i, ad := range out {
		if i > 0 {
			w.Write([]byte(","))
		}
		w.Write(ad)
	}
	w.Write([]byte("]"))
	return http.StatusOK
}

func (s *Server) parseDate(v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, fmt.Errorf("required, format YYYY-MM-DDTHH:MM:SS")
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	t, err := time.ParseInLocation("2006-01-02T15:04:05", v, s.loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not YYYY-MM-DDTHH:MM:SS", v)
	}
	return t, nil
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func (c *conceptRef) id() string {
	if c == nil {
		return ""
	}
	return str(c.ConceptID)
}

func (e *entry) occupations() []string {
	f := e.fields
	return []string{f.Occupation.id(), f.OccupationGroup.id(), f.OccupationField.id()}
}

func (e *entry) locations() (municipality, region, country, city string) {
	if w := e.fields.Workplace; w != nil {
		return str(w.Municipality), str(w.Region), str(w.Country), str(w.City)
	}
	return "", "", "", ""
}

func (e *entry) matches(occ, loc []string) bool {
	matchAny := func(want []string, have ...string) bool {
		if len(want) == 0 {
			return true
		}
		for _, h := range have {
			if h != "" && slices.Contains(want, h) {
				return true
			}
		}
		return false
	}
	m, r, c, city := e.locations()
	return matchAny(occ, e.occupations()...) && matchAny(loc, m, r, c, city)
}

// removal renders the removal object as JobStream does: the id, removed,
// removed_date and the ad's concept ids.
func (e *entry) removal() json.RawMessage {
	o := e.occupations()
	m, r, c, _ := e.locations()
	null := func(s string) *string {
		if s == "" {
			return nil
		}
		return &s
	}
	b, _ := json.Marshal(struct {
		ID              string  `json:"id"`
		Removed         bool    `json:"removed"`
		RemovedDate     *string `json:"removed_date"`
		Occupation      *string `json:"occupation"`
		OccupationGroup *string `json:"occupation_group"`
		OccupationField *string `json:"occupation_field"`
		Municipality    *string `json:"municipality"`
		Region          *string `json:"region"`
		Country         *string `json:"country"`
	}{e.fields.ID, true, e.fields.RemovedDate, null(o[0]), null(o[1]), null(o[2]), null(m), null(r), null(c)})
	return b
}
