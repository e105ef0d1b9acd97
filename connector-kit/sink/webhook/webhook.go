package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jobtech-dev/datahub/connector-kit/plugin"
	"github.com/jobtech-dev/datahub/connector-kit/wire"
)

// Sink POSTs records to a webhook URL. It is safe for concurrent use, but
// order is only kept among the records of one caller that writes them one
// after the other (as a subscription does).
type Sink struct {
	cfg       resolved
	target    string // the URL for logs, password redacted
	client    *http.Client
	ownClient bool
	log       *slog.Logger
	stateDir  string
	dead      *deadLetters
	closed    atomic.Bool

	delivered    atomic.Uint64
	retried      atomic.Uint64
	deadLettered atomic.Uint64
}

var _ plugin.BatchSink = (*Sink)(nil)

// Stats counts what a sink did since it was built.
type Stats struct {
	// Delivered is the number of records an endpoint accepted (2xx).
	Delivered uint64
	// Retried is the number of POSTs sent again after a retryable failure.
	Retried uint64
	// DeadLettered is the number of records written to the dead-letter file.
	DeadLettered uint64
}

// New builds a webhook sink. res.StateDir is required: the dead-letter file
// lives there. It returns an error wrapping plugin.ErrInvalidConfig for a
// bad config and ErrInvalidOption for a bad option.
func New(cfg Config, res plugin.Resources, opts ...Option) (*Sink, error) {
	rc, err := cfg.resolve()
	if err != nil {
		return nil, err
	}
	if res.StateDir == "" {
		return nil, fmt.Errorf("webhook: %w: Resources.StateDir is required for the dead-letter file", plugin.ErrInvalidConfig)
	}
	var o options
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	s := &Sink{
		cfg:      rc,
		client:   o.client,
		log:      res.Logger,
		stateDir: res.StateDir,
		dead:     &deadLetters{path: filepath.Join(res.StateDir, DeadLetterFile)},
	}
	if u, err := url.Parse(rc.url); err == nil {
		s.target = u.Redacted()
	}
	if s.client == nil {
		s.client = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
		s.ownClient = true
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.log = s.log.With("sink", "webhook", "url", s.target)
	return s, nil
}

// DeadLetterPath returns the path of the sink's dead-letter file.
func (s *Sink) DeadLetterPath() string { return s.dead.path }

// Connect makes sure the state folder exists. It does not call the
// endpoint: an endpoint that is down is a delivery failure, retried.
func (s *Sink) Connect(ctx context.Context) error {
	if err := os.MkdirAll(s.stateDir, 0o755); err != nil {
		return fmt.Errorf("webhook: state folder: %w", err)
	}
	return nil
}

// Write delivers one record: a single envelope object when batch is 1, an
// array of one otherwise, so a receiver sees one shape per config. It
// returns nil once the record was delivered or dead-lettered, the context's
// error (wrapped) when ctx ended first, ErrClosed after Close, and an error
// when the dead-letter file could not be written.
func (s *Sink) Write(ctx context.Context, r plugin.Record) error {
	return s.send(ctx, []wire.Envelope{plugin.EnvelopeOf(r)}, s.cfg.batch > 1)
}

// WriteBatch delivers rs in order, up to batch records per POST. Its
// errors are Write's; after an error, the earlier POSTs of rs may have been
// delivered already, so a receiver must deduplicate (X-Hub-Delivery).
func (s *Sink) WriteBatch(ctx context.Context, rs []plugin.Record) error {
	for len(rs) > 0 {
		n := min(len(rs), s.cfg.batch)
		envs := make([]wire.Envelope, n)
		for i, r := range rs[:n] {
			envs[i] = plugin.EnvelopeOf(r)
		}
		if err := s.send(ctx, envs, s.cfg.batch > 1); err != nil {
			return err
		}
		rs = rs[n:]
	}
	return nil
}

// Close closes the dead-letter file and idle connections; later writes
// return ErrClosed.
func (s *Sink) Close(ctx context.Context) error {
	s.closed.Store(true)
	if s.ownClient {
		s.client.CloseIdleConnections()
	}
	if err := s.dead.close(); err != nil {
		return fmt.Errorf("webhook: close dead-letter file: %w", err)
	}
	return nil
}

// Stats returns the sink's counters.
func (s *Sink) Stats() Stats {
	return Stats{Delivered: s.delivered.Load(), Retried: s.retried.Load(), DeadLettered: s.deadLettered.Load()}
}

// send POSTs envs as one body until it is delivered, dead-lettered, or ctx
// ends.
func (s *Sink) send(ctx context.Context, envs []wire.Envelope, array bool) error {
	if s.closed.Load() {
		return ErrClosed
	}
	delivery := envs[0].ID
	var v any = envs
	if !array {
		v = envs[0]
	}
	body, err := marshal(v)
	if err != nil {
		return s.deadLetter(envs, fmt.Errorf("%w: encode envelope: %v", ErrRejected, err), 0)
	}
	for attempt := 1; ; attempt++ {
		err := s.post(ctx, delivery, body)
		if err == nil {
			s.delivered.Add(uint64(len(envs)))
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("webhook: delivery %s interrupted after %d attempts: %w", delivery, attempt, context.Cause(ctx))
		}
		var fail *failure
		if !errors.As(err, &fail) || !fail.retryable {
			return s.deadLetter(envs, fmt.Errorf("%w: %v", ErrRejected, err), attempt)
		}
		if attempt > s.cfg.maxRetries {
			return s.deadLetter(envs, fmt.Errorf("%w after %d attempts: %v", ErrRetriesExhausted, attempt, err), attempt)
		}
		wait := s.backoff(attempt, fail.retryAfter)
		s.log.Warn("webhook delivery failed, retrying", "delivery", delivery, "attempt", attempt, "wait", wait, "error", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("webhook: delivery %s interrupted after %d attempts: %w", delivery, attempt, context.Cause(ctx))
		case <-t.C:
		}
		s.retried.Add(1)
	}
}

// marshal encodes v without escaping <, > and &, so the records' data
// reaches the endpoint as published.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// failure is why one POST failed.
type failure struct {
	status     int // 0 for a network error
	retryable  bool
	retryAfter time.Duration
	msg        string
}

func (f *failure) Error() string { return f.msg }

// post makes one attempt.
func (s *Sink) post(ctx context.Context, delivery string, body []byte) error {
	actx, cancel := context.WithTimeout(ctx, s.cfg.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, s.cfg.url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	for k, v := range s.cfg.headers {
		req.Header[k] = v
	}
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(HeaderTimestamp, ts)
	req.Header.Set(HeaderSignature, Sign(s.cfg.secret, ts, body))
	if delivery != "" {
		req.Header.Set(HeaderDelivery, delivery)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return &failure{retryable: true, msg: err.Error()}
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	f := &failure{status: resp.StatusCode, msg: fmt.Sprintf("endpoint answered %s", resp.Status)}
	if t := strings.TrimSpace(string(snippet)); t != "" {
		f.msg += ": " + t
	}
	switch {
	case resp.StatusCode == http.StatusRequestTimeout, resp.StatusCode == http.StatusTooManyRequests, resp.StatusCode >= 500:
		f.retryable = true
		f.retryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	}
	return f
}

// backoff is the wait before retry number attempt: Retry-After when the
// endpoint gave one, else a uniform draw below an exponentially growing
// ceiling (full jitter); never more than backoff_max.
func (s *Sink) backoff(attempt int, retryAfter time.Duration) time.Duration {
	if retryAfter > 0 {
		return min(retryAfter, s.cfg.backoffMax)
	}
	ceiling := s.cfg.backoffInitial
	for i := 1; i < attempt && ceiling < s.cfg.backoffMax; i++ {
		ceiling *= 2
	}
	ceiling = min(ceiling, s.cfg.backoffMax)
	return rand.N(ceiling + 1)
}

// parseRetryAfter reads delay-seconds or an HTTP date; 0 when absent or
// unreadable.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		return time.Duration(min(n, int64(24*time.Hour/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// deadLetter records envs as undeliverable and reports it; it returns nil
// so the records are acked, unless the dead-letter file cannot be written.
func (s *Sink) deadLetter(envs []wire.Envelope, cause error, attempts int) error {
	if err := s.dead.append(envs, cause, attempts, time.Now()); err != nil {
		return fmt.Errorf("webhook: delivery %s failed (%v) and was not dead-lettered: %w", envs[0].ID, cause, err)
	}
	s.deadLettered.Add(uint64(len(envs)))
	ids := make([]string, len(envs))
	for i, e := range envs {
		ids[i] = e.ID
	}
	s.log.Error("webhook delivery failed, records dead-lettered",
		"records", ids, "attempts", attempts, "error", cause, "file", s.dead.path)
	return nil
}
