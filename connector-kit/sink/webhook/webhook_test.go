package webhook

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jobtech-dev/datahub/connector-kit/plugin"
	"github.com/jobtech-dev/datahub/connector-kit/wire"
)

const testSecret = "s3cret"

// request is what the test endpoint received in one POST.
type request struct {
	n        int // 1-based request number
	at       time.Time
	delivery string
	body     []byte
	verified error
}

// endpoint is a real HTTP server on 127.0.0.1 that records every request
// and answers with respond (200 when nil).
type endpoint struct {
	t       *testing.T
	srv     *httptest.Server
	mu      sync.Mutex
	reqs    []request
	respond func(n int, w http.ResponseWriter) bool // true: answered
}

func startEndpoint(t *testing.T, respond func(n int, w http.ResponseWriter) bool) *endpoint {
	t.Helper()
	e := &endpoint{t: t, respond: respond}
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		e.mu.Lock()
		n := len(e.reqs) + 1
		e.reqs = append(e.reqs, request{
			n: n, at: time.Now(), delivery: r.Header.Get(HeaderDelivery), body: body,
			verified: Verify([]byte(testSecret), r.Header.Get(HeaderTimestamp), r.Header.Get(HeaderSignature), body, time.Minute),
		})
		e.mu.Unlock()
		if r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("Content-Type = %q", r.Header.Get("Content-Type"))
		}
		if e.respond != nil && e.respond(n, w) {
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(e.srv.Close)
	return e
}

func (e *endpoint) requests() []request {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]request(nil), e.reqs...)
}

// newSink builds a sink for e with fast backoff and the YAML overrides.
func newSink(t *testing.T, e *endpoint, extra string) (*Sink, string) {
	t.Helper()
	env := plugin.NewEnvironment()
	if err := Register(env); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	conf := fmt.Sprintf("url: %s/hook\nsecret: %s\n%s\n", e.srv.URL, testSecret, extra)
	for _, d := range []string{"backoff_initial: 1ms", "backoff_max: 5ms"} {
		if key, _, _ := strings.Cut(d, ":"); !strings.Contains(extra, key+":") {
			conf += d + "\n"
		}
	}
	ps, err := env.NewSink(Name, []byte(conf), plugin.Resources{StateDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	s := ps.(*Sink)
	if err := s.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	return s, filepath.Join(dir, DeadLetterFile)
}

func rec(id string) plugin.Record {
	return plugin.Record{
		Dataset: "job-ads", ID: id, Data: json.RawMessage(fmt.Sprintf(`{"id":%q}`, id)),
		Envelope: &wire.Envelope{ID: id, Dataset: "job-ads", Key: id, Seq: 7, Publisher: "board", Data: json.RawMessage(fmt.Sprintf(`{"id":%q}`, id))},
	}
}

func readDeadLetters(t *testing.T, path string) []DeadLetter {
	t.Helper()
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []DeadLetter
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var d DeadLetter
		if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
			t.Fatalf("dead-letter line %q: %v", sc.Text(), err)
		}
		out = append(out, d)
	}
	return out
}

func status(code int, header ...string) func(int, http.ResponseWriter) bool {
	return func(_ int, w http.ResponseWriter) bool {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.WriteHeader(code)
		return true
	}
}

func TestVerify(t *testing.T) {
	body := []byte(`{"id":"1"}`)
	now := strconv.FormatInt(time.Now().Unix(), 10)
	old := strconv.FormatInt(time.Now().Add(-time.Hour).Unix(), 10)
	tests := []struct {
		name    string
		secret  string
		ts      string
		sig     string
		body    []byte
		wantErr error
		skew    time.Duration
	}{
		{name: "valid", secret: testSecret, ts: now, sig: Sign([]byte(testSecret), now, body), body: body, skew: time.Minute},
		{name: "tampered body", secret: testSecret, ts: now, sig: Sign([]byte(testSecret), now, body), body: []byte(`{"id":"2"}`), skew: time.Minute, wantErr: ErrInvalidSignature},
		{name: "wrong secret", secret: "other", ts: now, sig: Sign([]byte(testSecret), now, body), body: body, skew: time.Minute, wantErr: ErrInvalidSignature},
		{name: "timestamp swapped", secret: testSecret, ts: now, sig: Sign([]byte(testSecret), old, body), body: body, skew: 2 * time.Hour, wantErr: ErrInvalidSignature},
		{name: "old timestamp", secret: testSecret, ts: old, sig: Sign([]byte(testSecret), old, body), body: body, skew: 5 * time.Minute, wantErr: ErrInvalidTimestamp},
		{name: "old timestamp, skew unchecked", secret: testSecret, ts: old, sig: Sign([]byte(testSecret), old, body), body: body},
		{name: "malformed timestamp", secret: testSecret, ts: "yesterday", sig: Sign([]byte(testSecret), "yesterday", body), body: body, wantErr: ErrInvalidTimestamp},
		{name: "no prefix", secret: testSecret, ts: now, sig: Sign([]byte(testSecret), now, body)[len("sha256="):], body: body, wantErr: ErrInvalidSignature},
		{name: "not hex", secret: testSecret, ts: now, sig: "sha256=zz", body: body, wantErr: ErrInvalidSignature},
		{name: "empty", secret: testSecret, ts: now, sig: "", body: body, wantErr: ErrInvalidSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Verify([]byte(tt.secret), tt.ts, tt.sig, tt.body, tt.skew)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("Verify = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestWriteSignsAndSendsEnvelope(t *testing.T) {
	e := startEndpoint(t, nil)
	s, _ := newSink(t, e, "headers: {X-Actor: matcher}")
	r := rec("ad-1")
	if err := s.Write(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	reqs := e.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	if reqs[0].verified != nil {
		t.Fatalf("signature: %v", reqs[0].verified)
	}
	if reqs[0].delivery != "ad-1" {
		t.Fatalf("delivery = %q", reqs[0].delivery)
	}
	var got wire.Envelope
	if err := json.Unmarshal(reqs[0].body, &got); err != nil {
		t.Fatalf("body %s: %v", reqs[0].body, err)
	}
	if got.ID != "ad-1" || got.Seq != 7 || got.Publisher != "board" || string(got.Data) != `{"id":"ad-1"}` {
		t.Fatalf("envelope = %+v", got)
	}
	if st := s.Stats(); st != (Stats{Delivered: 1}) {
		t.Fatalf("stats = %+v", st)
	}
	// Data reaches the endpoint as published: no HTML escaping.
	data := `{"headline":"Kock & servitör <heltid>"}`
	if err := s.Write(context.Background(), plugin.Record{ID: "ad-2", Data: json.RawMessage(data)}); err != nil {
		t.Fatal(err)
	}
	if body := e.requests()[1].body; !strings.Contains(string(body), `"data":`+data) {
		t.Fatalf("body %s does not carry the data as published", body)
	}
}

func TestCustomHeaders(t *testing.T) {
	got := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Get("X-Actor")
	}))
	t.Cleanup(srv.Close)
	s, err := New(Config{URL: srv.URL, Secret: "k", Headers: map[string]string{"x-actor": "matcher"}}, plugin.Resources{StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	if err := s.Write(context.Background(), plugin.Record{ID: "1", Data: json.RawMessage(`{}`)}); err != nil {
		t.Fatal(err)
	}
	if h := <-got; h != "matcher" {
		t.Fatalf("X-Actor = %q", h)
	}
}

func TestBatching(t *testing.T) {
	e := startEndpoint(t, nil)
	s, _ := newSink(t, e, "batch: 3")
	var rs []plugin.Record
	for i := range 7 {
		rs = append(rs, rec(fmt.Sprintf("r%d", i)))
	}
	if err := s.WriteBatch(context.Background(), rs); err != nil {
		t.Fatal(err)
	}
	reqs := e.requests()
	wantSizes := []int{3, 3, 1}
	if len(reqs) != len(wantSizes) {
		t.Fatalf("%d POSTs, want %d", len(reqs), len(wantSizes))
	}
	next := 0
	for i, q := range reqs {
		if q.verified != nil {
			t.Fatalf("POST %d: %v", i, q.verified)
		}
		var envs []wire.Envelope
		if err := json.Unmarshal(q.body, &envs); err != nil {
			t.Fatalf("POST %d is not an array: %v", i, err)
		}
		if len(envs) != wantSizes[i] {
			t.Fatalf("POST %d has %d envelopes, want %d", i, len(envs), wantSizes[i])
		}
		if q.delivery != envs[0].ID {
			t.Fatalf("POST %d delivery %q, first id %q", i, q.delivery, envs[0].ID)
		}
		for _, env := range envs {
			if want := fmt.Sprintf("r%d", next); env.ID != want {
				t.Fatalf("envelope %s, want %s", env.ID, want)
			}
			next++
		}
	}
	// Write alone sends an array of one when batching is on.
	if err := s.Write(context.Background(), rec("single")); err != nil {
		t.Fatal(err)
	}
	last := e.requests()[3]
	var envs []wire.Envelope
	if err := json.Unmarshal(last.body, &envs); err != nil || len(envs) != 1 {
		t.Fatalf("single write with batch 3: %s (%v)", last.body, err)
	}
	if st := s.Stats(); st.Delivered != 8 {
		t.Fatalf("stats = %+v", st)
	}
}

func TestRetries(t *testing.T) {
	tests := []struct {
		name         string
		extra        string
		respond      func(n int, w http.ResponseWriter) bool
		wantRequests int
		wantDead     bool
		wantErrIn    error // in the dead letter
		wantAttempts int
		minGap       time.Duration // between first and last request
	}{
		{
			name: "500 then success",
			respond: func(n int, w http.ResponseWriter) bool {
				if n <= 2 {
					return status(http.StatusInternalServerError)(n, w)
				}
				return false
			},
			wantRequests: 3,
		},
		{
			name: "408 and 429 are retried",
			respond: func(n int, w http.ResponseWriter) bool {
				switch n {
				case 1:
					return status(http.StatusRequestTimeout)(n, w)
				case 2:
					return status(http.StatusTooManyRequests)(n, w)
				}
				return false
			},
			wantRequests: 3,
		},
		{
			name:  "Retry-After honoured",
			extra: "backoff_max: 5s",
			respond: func(n int, w http.ResponseWriter) bool {
				if n == 1 {
					return status(http.StatusServiceUnavailable, "Retry-After", "1")(n, w)
				}
				return false
			},
			wantRequests: 2,
			minGap:       time.Second,
		},
		{
			name:         "400 is permanent",
			respond:      status(http.StatusBadRequest),
			wantRequests: 1, wantDead: true, wantErrIn: ErrRejected, wantAttempts: 1,
		},
		{
			name:         "retries exhausted",
			extra:        "max_retries: 3",
			respond:      status(http.StatusBadGateway),
			wantRequests: 4, wantDead: true, wantErrIn: ErrRetriesExhausted, wantAttempts: 4,
		},
		{
			name:         "no retries",
			extra:        "max_retries: -1",
			respond:      status(http.StatusInternalServerError),
			wantRequests: 1, wantDead: true, wantErrIn: ErrRetriesExhausted, wantAttempts: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := startEndpoint(t, tt.respond)
			s, deadPath := newSink(t, e, tt.extra)
			if err := s.Write(context.Background(), rec("ad-1")); err != nil {
				t.Fatalf("Write = %v, want nil (delivered or dead-lettered)", err)
			}
			reqs := e.requests()
			if len(reqs) != tt.wantRequests {
				t.Fatalf("%d requests, want %d", len(reqs), tt.wantRequests)
			}
			for _, q := range reqs {
				if q.delivery != "ad-1" || q.verified != nil {
					t.Fatalf("request %d: delivery %q, signature %v", q.n, q.delivery, q.verified)
				}
			}
			if gap := reqs[len(reqs)-1].at.Sub(reqs[0].at); gap < tt.minGap {
				t.Fatalf("retried after %s, want at least %s", gap, tt.minGap)
			}
			dead := readDeadLetters(t, deadPath)
			st := s.Stats()
			if st.Retried != uint64(tt.wantRequests-1) {
				t.Fatalf("stats %+v: want %d retried", st, tt.wantRequests-1)
			}
			if !tt.wantDead {
				if len(dead) != 0 || st.Delivered != 1 || st.DeadLettered != 0 {
					t.Fatalf("dead letters %v, stats %+v", dead, st)
				}
				return
			}
			if len(dead) != 1 || st.DeadLettered != 1 || st.Delivered != 0 {
				t.Fatalf("dead letters %v, stats %+v", dead, st)
			}
			d := dead[0]
			if d.Envelope.ID != "ad-1" || string(d.Envelope.Data) != `{"id":"ad-1"}` || d.Attempts != tt.wantAttempts || d.Time.IsZero() {
				t.Fatalf("dead letter = %+v", d)
			}
			if want := tt.wantErrIn.Error(); len(d.Error) < len(want) || d.Error[:len(want)] != want {
				t.Fatalf("dead letter error %q, want it to start with %q", d.Error, want)
			}
		})
	}
}

func TestFlakyEndpointGetsEveryRecordOnceInOrder(t *testing.T) {
	tests := []struct {
		name  string
		batch int
		// processed: the endpoint handles the request before failing it,
		// as when its answer is lost, so it sees duplicates.
		processed bool
	}{
		{name: "single, fails before processing", batch: 1},
		{name: "single, fails after processing", batch: 1, processed: true},
		{name: "batch 4, fails after processing", batch: 4, processed: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			seen := map[string]bool{}
			var order []string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				if err := Verify([]byte(testSecret), r.Header.Get(HeaderTimestamp), r.Header.Get(HeaderSignature), body, time.Minute); err != nil {
					http.Error(w, err.Error(), http.StatusUnauthorized)
					return
				}
				mu.Lock()
				defer mu.Unlock()
				fail := len(seen)%2 == 0 && !seen["fail:"+r.Header.Get(HeaderDelivery)]
				if fail && !tt.processed {
					seen["fail:"+r.Header.Get(HeaderDelivery)] = true
					w.WriteHeader(http.StatusServiceUnavailable)
					return
				}
				if d := r.Header.Get(HeaderDelivery); !seen[d] {
					seen[d] = true
					var envs []wire.Envelope
					if tt.batch > 1 {
						if err := json.Unmarshal(body, &envs); err != nil {
							t.Errorf("batch body: %v", err)
						}
					} else {
						var env wire.Envelope
						if err := json.Unmarshal(body, &env); err != nil {
							t.Errorf("body: %v", err)
						}
						envs = append(envs, env)
					}
					for _, env := range envs {
						order = append(order, env.ID)
					}
				}
				if fail {
					seen["fail:"+r.Header.Get(HeaderDelivery)] = true
					w.WriteHeader(http.StatusInternalServerError)
				}
			}))
			t.Cleanup(srv.Close)
			e := &endpoint{srv: srv}
			s, deadPath := newSink(t, e, fmt.Sprintf("batch: %d", tt.batch))
			var want []string
			var rs []plugin.Record
			for i := range 40 {
				id := fmt.Sprintf("ad-%02d", i)
				want = append(want, id)
				rs = append(rs, rec(id))
			}
			ctx := context.Background()
			if tt.batch > 1 {
				if err := s.WriteBatch(ctx, rs); err != nil {
					t.Fatal(err)
				}
			} else {
				for _, r := range rs {
					if err := s.Write(ctx, r); err != nil {
						t.Fatal(err)
					}
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if fmt.Sprint(order) != fmt.Sprint(want) {
				t.Fatalf("received %v\nwant %v", order, want)
			}
			if d := readDeadLetters(t, deadPath); len(d) != 0 {
				t.Fatalf("dead letters: %v", d)
			}
			if st := s.Stats(); st.Delivered != 40 || st.Retried == 0 {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}

func TestCancelStopsRetries(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
		extra   string
	}{
		{
			name:    "waiting between retries",
			handler: func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusInternalServerError) },
			extra:   "backoff_initial: 10s\nbackoff_max: 20s",
		},
		{
			name: "waiting for a slow endpoint",
			handler: func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.ReadAll(r.Body) // lets the server notice the client leaving
				select {
				case <-r.Context().Done():
				case <-time.After(10 * time.Second):
				}
			},
			extra: "timeout: 30s",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.handler)
			t.Cleanup(srv.Close)
			s, deadPath := newSink(t, &endpoint{srv: srv}, tt.extra)
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(100*time.Millisecond, cancel)
			start := time.Now()
			err := s.Write(ctx, rec("ad-1"))
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("Write = %v, want context.Canceled", err)
			}
			if d := time.Since(start); d > time.Second {
				t.Fatalf("Write returned %s after cancel", d)
			}
			if d := readDeadLetters(t, deadPath); len(d) != 0 {
				t.Fatalf("cancelled record was dead-lettered: %v", d)
			}
			if st := s.Stats(); st.Delivered != 0 || st.DeadLettered != 0 {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}

func TestNetworkErrorIsRetried(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there any more
	s, deadPath := newSink(t, &endpoint{srv: &httptest.Server{URL: url}}, "max_retries: 2")
	if err := s.Write(context.Background(), rec("ad-1")); err != nil {
		t.Fatal(err)
	}
	d := readDeadLetters(t, deadPath)
	if len(d) != 1 || d[0].Attempts != 3 {
		t.Fatalf("dead letters %+v", d)
	}
	if st := s.Stats(); st.Retried != 2 || st.DeadLettered != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestConfigErrors(t *testing.T) {
	t.Setenv("WEBHOOK_TEST_SECRET", "from-env")
	tests := []struct {
		name string
		conf string
		ok   bool
	}{
		{name: "minimal", conf: "url: http://127.0.0.1:1/x\nsecret: k", ok: true},
		{name: "secret from env", conf: "url: http://127.0.0.1:1/x\nsecret_env: WEBHOOK_TEST_SECRET", ok: true},
		{name: "all fields", conf: "url: https://example.org/x\nsecret: k\nbatch: 10\ntimeout: 2s\nmax_retries: 3\nbackoff_initial: 100ms\nbackoff_max: 1m\nheaders: {Authorization: Bearer x}", ok: true},
		{name: "unknown field", conf: "url: http://127.0.0.1:1/x\nsecret: k\nretries: 3"},
		{name: "no url", conf: "secret: k"},
		{name: "relative url", conf: "url: /x\nsecret: k"},
		{name: "no secret", conf: "url: http://127.0.0.1:1/x"},
		{name: "both secrets", conf: "url: http://127.0.0.1:1/x\nsecret: k\nsecret_env: WEBHOOK_TEST_SECRET"},
		{name: "unset env", conf: "url: http://127.0.0.1:1/x\nsecret_env: WEBHOOK_TEST_NOPE"},
		{name: "negative batch", conf: "url: http://127.0.0.1:1/x\nsecret: k\nbatch: -1"},
		{name: "bad duration", conf: "url: http://127.0.0.1:1/x\nsecret: k\ntimeout: soon"},
		{name: "max below initial", conf: "url: http://127.0.0.1:1/x\nsecret: k\nbackoff_initial: 1s\nbackoff_max: 10ms"},
		{name: "reserved header", conf: "url: http://127.0.0.1:1/x\nsecret: k\nheaders: {x-hub-signature-256: forged}"},
	}
	env := plugin.NewEnvironment()
	if err := Register(env); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := env.NewSink(Name, []byte(tt.conf), plugin.Resources{StateDir: t.TempDir()})
			if tt.ok {
				if err != nil {
					t.Fatal(err)
				}
				_ = s.Close(context.Background())
				return
			}
			if !errors.Is(err, plugin.ErrInvalidConfig) {
				t.Fatalf("err = %v, want ErrInvalidConfig", err)
			}
		})
	}
	if _, err := New(Config{URL: "http://127.0.0.1:1", Secret: "k"}, plugin.Resources{}); !errors.Is(err, plugin.ErrInvalidConfig) {
		t.Fatalf("no StateDir: %v", err)
	}
}

func TestBackoff(t *testing.T) {
	s := &Sink{cfg: resolved{backoffInitial: 100 * time.Millisecond, backoffMax: time.Second}}
	for attempt := 1; attempt <= 12; attempt++ {
		ceiling := min(100*time.Millisecond<<(attempt-1), time.Second)
		for range 50 {
			if w := s.backoff(attempt, 0); w < 0 || w > ceiling {
				t.Fatalf("attempt %d: wait %s outside [0, %s]", attempt, w, ceiling)
			}
		}
	}
	if w := s.backoff(1, 500*time.Millisecond); w != 500*time.Millisecond {
		t.Fatalf("Retry-After 500ms: wait %s", w)
	}
	if w := s.backoff(1, time.Hour); w != time.Second {
		t.Fatalf("Retry-After 1h: wait %s, want capped at backoff_max", w)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0}, {"3", 3 * time.Second}, {"0", 0}, {"-1", 0}, {"soon", 0},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
	}
	for _, tt := range tests {
		if got := parseRetryAfter(tt.in, now); got != tt.want {
			t.Errorf("parseRetryAfter(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestWriteAfterClose(t *testing.T) {
	e := startEndpoint(t, nil)
	s, _ := newSink(t, e, "")
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(context.Background(), rec("x")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Write after Close = %v", err)
	}
}
