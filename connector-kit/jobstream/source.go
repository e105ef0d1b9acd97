package jobstream

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jobtech-dev/datahub/connector-kit/plugin"
	"github.com/jobtech-dev/datahub/connector-kit/wire"
)

// SourceType is the name the source is registered under.
const SourceType = "jobstream"

// batchPattern names the spool files of fetched answers in the state folder.
const batchPattern = "jobstream-batch-*.json"

// Register adds the "jobstream" source to env.
func Register(env *plugin.Environment) error {
	return env.RegisterSource(SourceType, Spec, NewSource)
}

// Spec describes the "jobstream" source's config.
var Spec = plugin.Spec{
	Summary: "polls a JobStream-style API (JobTech's JobStream or a job board speaking it): the snapshot, then /stream every interval; removed ads become tombstones",
	Config:  SourceConfig{},
	Fields: []plugin.Field{
		{Name: "url", Type: "URL", Required: true, Description: "base URL, e.g. https://jobstream.api.jobtechdev.se"},
		{Name: "api_key", Type: "string", Description: "sent as the api-key header"},
		{Name: "dataset", Type: "name", Default: DefaultDataset, Description: "dataset that receives the ads"},
		{Name: "interval", Type: "duration", Default: DefaultInterval.String(), Description: "poll period (JobStream allows one request a minute)"},
		{Name: "since", Type: "time", Description: "first window start (2024-05-01T00:00:00); default: the snapshot first"},
		{Name: "timeout", Type: "duration", Default: DefaultTimeout.String(), Description: "bound on one request (a real snapshot is ~300 MB)"},
		{Name: "overlap", Type: "duration", Default: "0s", Description: "re-read this much before the cursor (clock skew)"},
		{Name: "occupation_concept_ids", Type: "list", Description: "JobStream occupation filter (taxonomy concept ids)"},
		{Name: "location_concept_ids", Type: "list", Description: "JobStream location filter (taxonomy concept ids)"},
		{Name: "backoff_initial", Type: "duration", Default: DefaultBackoffInitial.String(), Description: "first wait after a 5xx, 429 or timeout, doubled each time"},
		{Name: "backoff_max", Type: "duration", Default: DefaultBackoffMax.String(), Description: "longest wait between failed polls"},
	},
}

// NewSource builds a "jobstream" source from its YAML config (see
// [SourceConfig]). It keeps its cursor in res.StateDir, which must be set.
// A bad config returns an error wrapping plugin.ErrInvalidConfig.
//
// Read hands out the records of one poll at a time: first the whole
// /snapshot (unless since is set or a cursor exists), then every interval the
// /stream window from the cursor to the time of the poll. Ads become records
// with ID "jobstream-<ad id>-<hash>"; removals become tombstones
// {"id", "removed": true, "removed_date"}. When every record of a poll was
// acked (nil or a permanent error) the cursor moves to the window's end; a
// nacked record is handed out again after a backoff. A 5xx, 429, timeout or
// broken answer returns a *plugin.BackoffError; another 4xx a *[StatusError].
// Read is meant for one reading goroutine; the ack functions may be called
// from any.
func NewSource(conf []byte, res plugin.Resources) (plugin.Source, error) {
	cfg, err := parseSourceConfig(conf)
	if err != nil {
		return nil, err
	}
	if res.StateDir == "" {
		return nil, fmt.Errorf("%w: jobstream source: no state folder (Resources.StateDir) for its cursor", plugin.ErrInvalidConfig)
	}
	log := res.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &source{
		cfg:      cfg,
		log:      log.With("source", SourceType, "url", cfg.base.String()),
		stateDir: res.StateDir,
		client:   &http.Client{},
		now:      time.Now,
		wake:     make(chan struct{}, 1),
	}, nil
}

var _ plugin.Source = (*source)(nil)

type source struct {
	cfg      sourceSettings
	log      *slog.Logger
	stateDir string
	client   *http.Client
	now      func() time.Time
	wake     chan struct{} // signalled by acks and Close

	readMu sync.Mutex // one Read at a time

	mu        sync.Mutex
	connected bool
	closed    bool
	cur       cursor
	batch     *batch
	nextPoll  time.Time
	failures  int // consecutive failed polls
}

// batch is the answer of one poll, spooled to a file and handed out record
// by record.
type batch struct {
	url      string
	end      time.Time // the cursor once the batch is done
	snapshot bool
	file     *os.File
	dec      *json.Decoder
	eof      bool
	inflight int
	retry    []*pending // nacked, waiting for readyAt
	read     int
}

// pending is a record handed out and not yet acked.
type pending struct {
	rec        plugin.Record
	deliveries int
	inflight   bool
	attempts   int
	readyAt    time.Time
}

// Connect creates the state folder, removes spool files a crash left and
// loads the cursor.
func (s *source) Connect(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if s.connected {
		return nil
	}
	if err := os.MkdirAll(s.stateDir, 0o700); err != nil {
		return fmt.Errorf("jobstream: state folder: %w", err)
	}
	if old, err := filepath.Glob(filepath.Join(s.stateDir, batchPattern)); err == nil {
		for _, f := range old {
			_ = os.Remove(f)
		}
	}
	c, ok, err := loadCursor(s.stateDir)
	if err != nil {
		return err
	}
	switch {
	case ok:
		s.log.Info("jobstream: resuming", "cursor", FormatDate(c.Date), "snapshot_taken", c.Snapshot)
	case !s.cfg.since.IsZero():
		c = cursor{Date: s.cfg.since, Snapshot: true}
		s.log.Info("jobstream: starting from since", "since", FormatDate(c.Date))
	default:
		s.log.Info("jobstream: no cursor, starting with a snapshot")
	}
	s.cur = c
	s.connected = true
	return nil
}

// Close drops the current batch (its unacked records are read again by the
// next instance, from the durable cursor) and wakes a blocked Read.
func (s *source) Close(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	s.dropBatch()
	s.signal()
	return nil
}

func (s *source) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Read returns the next record of the current poll, polling when the last
// one is done and its interval has passed.
func (s *source) Read(ctx context.Context) (plugin.Record, plugin.AckFunc, error) {
	s.readMu.Lock()
	defer s.readMu.Unlock()
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return plugin.Record{}, nil, ErrClosed
		}
		if !s.connected {
			s.mu.Unlock()
			return plugin.Record{}, nil, plugin.ErrNotConnected
		}
		now := s.now()
		wait := time.Duration(-1) // until an ack or Close
		if b := s.batch; b != nil {
			if p := b.ready(now); p != nil {
				ack := s.deliver(b, p)
				s.mu.Unlock()
				return p.rec, ack, nil
			}
			if !b.eof {
				p, err := s.next(b)
				if err != nil {
					berr := s.fail(err, 0)
					s.mu.Unlock()
					return plugin.Record{}, nil, berr
				}
				if p != nil {
					ack := s.deliver(b, p)
					s.mu.Unlock()
					return p.rec, ack, nil
				}
				s.mu.Unlock()
				continue // reached the end of the batch
			}
			if b.inflight == 0 && len(b.retry) == 0 {
				err := s.commit(b)
				s.mu.Unlock()
				if err != nil {
					return plugin.Record{}, nil, err
				}
				continue
			}
			if len(b.retry) > 0 {
				wait = b.earliest().Sub(now)
			}
		} else {
			if !now.Before(s.nextPoll) {
				s.mu.Unlock()
				if err := s.poll(ctx); err != nil {
					return plugin.Record{}, nil, err
				}
				continue
			}
			wait = s.nextPoll.Sub(now)
		}
		s.mu.Unlock()
		if err := s.sleep(ctx, wait); err != nil {
			return plugin.Record{}, nil, err
		}
	}
}

func (s *source) sleep(ctx context.Context, d time.Duration) error {
	var timeout <-chan time.Time
	if d >= 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-s.wake:
	case <-timeout:
	}
	return nil
}

// ready returns a nacked record whose backoff has passed.
func (b *batch) ready(now time.Time) *pending {
	for i, p := range b.retry {
		if !p.readyAt.After(now) {
			b.retry = append(b.retry[:i], b.retry[i+1:]...)
			return p
		}
	}
	return nil
}

func (b *batch) earliest() time.Time {
	t := b.retry[0].readyAt
	for _, p := range b.retry[1:] {
		if p.readyAt.Before(t) {
			t = p.readyAt
		}
	}
	return t
}

// deliver marks p in flight and returns its ack function. s.mu is held.
func (s *source) deliver(b *batch, p *pending) plugin.AckFunc {
	p.deliveries++
	p.inflight = true
	b.inflight++
	delivery := p.deliveries
	return func(ctx context.Context, err error) error {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.batch != b || !p.inflight || p.deliveries != delivery {
			return nil // a repeated ack, or the batch is gone
		}
		p.inflight = false
		b.inflight--
		switch {
		case err == nil:
		case plugin.IsPermanent(err):
			s.log.Warn("jobstream: record refused for good, moving on", "id", p.rec.ID, "err", err)
		default:
			p.attempts++
			p.readyAt = s.now().Add(s.backoff(p.attempts))
			b.retry = append(b.retry, p)
		}
		s.signal()
		return nil
	}
}

// next decodes the next usable element of the batch; nil at the end.
// Elements that are not ads are logged and skipped. s.mu is held.
func (s *source) next(b *batch) (*pending, error) {
	q := StreamQuery{OccupationConceptIDs: s.cfg.occupationIDs, LocationConceptIDs: s.cfg.locationIDs}
	for b.dec.More() {
		var raw json.RawMessage
		if err := b.dec.Decode(&raw); err != nil {
			return nil, fmt.Errorf("jobstream: GET %s: reading spooled answer: %w", b.url, err)
		}
		b.read++
		if !q.Match(raw) {
			continue // JobStream filters /stream itself, but not /snapshot
		}
		rec, err := recordFromAd(s.cfg.dataset, raw)
		if err != nil {
			s.log.Warn("jobstream: skipping element", "url", b.url, "index", b.read-1, "err", err)
			continue
		}
		return &pending{rec: rec}, nil
	}
	b.eof = true
	return nil, nil
}

// recordFromAd makes a hub record of one element of a JobStream answer.
func recordFromAd(dataset string, raw json.RawMessage) (plugin.Record, error) {
	var f adFields
	if err := json.Unmarshal(raw, &f); err != nil {
		return plugin.Record{}, fmt.Errorf("%w: %v", ErrNotAd, err)
	}
	id, ok := f.adID()
	if !ok {
		return plugin.Record{}, fmt.Errorf("%w: no id", ErrNotAd)
	}
	data := raw
	if f.Removed {
		b, err := json.Marshal(removal{ID: id, Removed: true, RemovedDate: f.RemovedDate})
		if err != nil {
			return plugin.Record{}, err
		}
		data = b
	}
	return plugin.Record{Dataset: dataset, ID: RecordID(id, data), Data: data}, nil
}

// RecordID is the hub record id the source gives an ad: "jobstream-<ad
// id>-<first 16 hex digits of the SHA-256 of the ad>". The same version of an
// ad always gets the same id, so the hub stores a re-read once; a changed ad
// gets a new one. An ad id that would make an invalid record id is replaced
// by its own hash.
func RecordID(adID string, ad []byte) string {
	sum := sha256.Sum256(ad)
	id := "jobstream-" + adID + "-" + hex.EncodeToString(sum[:8])
	if !wire.ValidRecordID(id) {
		h := sha256.Sum256([]byte(adID))
		id = "jobstream-h" + hex.EncodeToString(h[:8]) + "-" + hex.EncodeToString(sum[:8])
	}
	return id
}

// commit saves the cursor at the end of a finished batch. s.mu is held.
func (s *source) commit(b *batch) error {
	c := cursor{Date: b.end, Snapshot: true}
	if err := saveCursor(s.stateDir, c); err != nil {
		return err // the batch stays; the next Read tries again
	}
	s.cur = c
	s.log.Info("jobstream: window done", "url", b.url, "elements", b.read, "cursor", FormatDate(c.Date))
	s.dropBatch()
	return nil
}

func (s *source) dropBatch() {
	if b := s.batch; b != nil {
		b.file.Close()
		os.Remove(b.file.Name())
		s.batch = nil
	}
}

// poll fetches the next window (or the snapshot) into a new batch.
func (s *source) poll(ctx context.Context) error {
	s.mu.Lock()
	cur := s.cur
	s.mu.Unlock()

	start := s.now()
	end := start.Truncate(time.Second)
	var target string
	if !cur.Snapshot {
		target = s.cfg.base.String() + "/snapshot"
	} else {
		q := StreamQuery{
			Since:                cur.Date.Add(-s.cfg.overlap),
			Before:               end,
			OccupationConceptIDs: s.cfg.occupationIDs,
			LocationConceptIDs:   s.cfg.locationIDs,
		}
		if !q.Before.After(q.Since) { // the cursor is not in the past yet
			s.mu.Lock()
			s.nextPoll = start.Add(s.cfg.interval)
			s.mu.Unlock()
			return nil
		}
		target = s.cfg.base.String() + "/stream?" + q.Values().Encode()
	}

	f, n, retryAfter, err := s.fetch(ctx, target)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var se *StatusError
		if errors.As(err, &se) {
			s.nextPoll = s.now().Add(s.cfg.interval)
			return err
		}
		return s.fail(err, retryAfter)
	}
	if s.closed {
		f.Close()
		os.Remove(f.Name())
		return ErrClosed
	}
	s.failures = 0
	s.nextPoll = start.Add(s.cfg.interval)
	dec := json.NewDecoder(f)
	if _, err := dec.Token(); err != nil { // '[' was checked while spooling
		f.Close()
		os.Remove(f.Name())
		return s.fail(err, 0)
	}
	s.batch = &batch{url: target, end: end, snapshot: !cur.Snapshot, file: f, dec: dec}
	s.log.Info("jobstream: fetched", "url", target, "elements", n)
	return nil
}

// fail records a failed poll and returns the backoff error. s.mu is held.
func (s *source) fail(err error, atLeast time.Duration) error {
	s.dropBatch()
	s.failures++
	wait := max(s.backoff(s.failures), atLeast)
	s.nextPoll = s.now().Add(wait)
	s.log.Warn("jobstream: poll failed", "err", err, "retry_in", wait)
	return &plugin.BackoffError{Wait: wait, Err: err}
}

// backoff is the wait before attempt n+1: backoff_initial doubled n-1
// times, at most backoff_max.
func (s *source) backoff(n int) time.Duration {
	d := s.cfg.backoffInitial
	for i := 1; i < n && d < s.cfg.backoffMax; i++ {
		d *= 2
	}
	return min(d, s.cfg.backoffMax)
}

// fetch GETs target and spools its JSON array to a file in the state
// folder, checking that it is one complete array. It returns the file,
// rewound, and the number of elements. A StatusError is final; other errors
// are worth a retry (retryAfter is the server's Retry-After, if any).
func (s *source) fetch(ctx context.Context, target string) (f *os.File, n int, retryAfter time.Duration, err error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("jobstream: GET %s: %w", target, err)
	}
	req.Header.Set("Accept", ContentType)
	req.Header.Set("User-Agent", "jobtech-datahub-connector")
	if s.cfg.apiKey != "" {
		req.Header.Set(HeaderAPIKey, s.cfg.apiKey)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("jobstream: GET %s: %w", target, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		body := strings.TrimSpace(string(snippet))
		if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
			return nil, 0, parseRetryAfter(resp.Header.Get("Retry-After")),
				fmt.Errorf("jobstream: GET %s: HTTP %d: %s", target, resp.StatusCode, body)
		}
		return nil, 0, 0, &StatusError{Code: resp.StatusCode, URL: target, Body: body}
	}
	f, err = os.CreateTemp(s.stateDir, batchPattern)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("jobstream: spool answer of %s: %w", target, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	dec := json.NewDecoder(io.TeeReader(resp.Body, f))
	if n, err = checkArray(dec); err != nil {
		return nil, 0, 0, fmt.Errorf("jobstream: GET %s: answer is not a complete JSON array: %w", target, err)
	}
	if _, err = f.Seek(0, io.SeekStart); err != nil {
		return nil, 0, 0, fmt.Errorf("jobstream: spool: %w", err)
	}
	return f, n, 0, nil
}

// checkArray reads one JSON array from dec and counts its elements.
func checkArray(dec *json.Decoder) (int, error) {
	tok, err := dec.Token()
	if err != nil {
		return 0, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return 0, fmt.Errorf("starts with %v, want [", tok)
	}
	n := 0
	for dec.More() {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return n, fmt.Errorf("element %d: %w", n, err)
		}
		n++
	}
	if _, err := dec.Token(); err != nil {
		return n, err
	}
	return n, nil
}

func parseRetryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(v); err == nil && secs > 0 {
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return time.Until(t)
	}
	return 0
}
