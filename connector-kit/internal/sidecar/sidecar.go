package sidecar

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/jobtech-dev/datahub/connector-kit/internal/outbox"
	"github.com/jobtech-dev/datahub/connector-kit/kit"
	"github.com/jobtech-dev/datahub/connector-kit/plugin"
	"github.com/jobtech-dev/datahub/connector-kit/schema"
)

// Sidecar is a running connector.
type Sidecar struct {
	cfg    Config
	log    *slog.Logger
	env    *plugin.Environment
	c      *kit.Client
	ob     *outbox.Outbox
	fw     *forwarder
	m      *metrics
	limits schema.Limits
	http   *http.Server
	ln     net.Listener
	token  string  // the local API's token; "" when none is required
	rights *rights // publish rights learned from the hub's refusals
	clog   *connLog

	catMu     sync.Mutex
	catalog   []string
	catalogAt time.Time

	cancel context.CancelFunc
	wg     sync.WaitGroup
	runErr chan error
}

// Start brings a sidecar up: the outbox, the hub connection (which may be
// away: records then queue), the local API, the inputs and the outputs.
func Start(ctx context.Context, cfg Config, env *plugin.Environment, log *slog.Logger) (*Sidecar, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var err error
	if cfg.Hub.URL, err = kit.ResolveURL(cfg.Hub.URL, cfg.Hub.Credentials); err != nil {
		return nil, err
	}
	cfg = cfg.withPluginPaths(env)
	s := &Sidecar{cfg: cfg, log: log, env: env, limits: schema.Limits{MaxBytes: cfg.MaxRecordBytes}, runErr: make(chan error, 16),
		rights: newRights(), clog: newConnLog(log, cfg.Hub.URL, logEvery)}
	if s.token, err = cfg.apiToken(); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	obOpts := []outbox.Option{outbox.WithLogger(log), outbox.WithMaxRecordBytes(cfg.MaxRecordBytes + 1024)}
	if cfg.ForwardDuringFsync {
		// The forwarder sends a record to the hub while its fsync runs;
		// its POST is still answered only after both (see post.go).
		obOpts = append(obOpts, outbox.WithEarlyNext())
	}
	if s.ob, err = outbox.Open(cfg.Outbox, obOpts...); err != nil {
		if errors.Is(err, outbox.ErrCorrupt) {
			return nil, fmt.Errorf("the outbox %s is damaged, so the connector will not start (it never drops records silently): %w\n"+
				"  to see the damage:  connector outbox check --outbox %s\n"+
				"  to keep every intact record and set the damaged bytes aside:  connector outbox repair --outbox %s",
				cfg.Outbox, err, cfg.Outbox, cfg.Outbox)
		}
		return nil, fmt.Errorf("open outbox %s: %w", cfg.Outbox, err)
	}
	s.c, err = kit.Dial(ctx, cfg.Hub.URL, cfg.Hub.Credentials, kit.WithTLSFiles(cfg.Hub.CA, cfg.Hub.ClientCert, cfg.Hub.ClientKey), kit.WithLogger(log), kit.WithName("connector"),
		kit.WithLocalValidation(false), kit.WithLimits(s.limits), kit.WithStateHandler(s.clog.observe),
		kit.WithNATSOptions(nats.RetryOnFailedConnect(true)))
	if err != nil {
		s.ob.Close()
		return nil, err
	}
	s.m = newMetrics(func() float64 { n, _ := s.ob.Pending(); return float64(n) })
	s.fw = &forwarder{ob: s.ob, c: s.c, log: log.With("component", "forwarder"), m: s.m, rights: s.rights, every: logEvery,
		rejects: filepath.Join(cfg.State, "rejected.ndjson"), waiters: map[string][]chan outcome{}}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx)) // the sidecar's own lifetime: Shutdown ends it
	s.cancel = cancel
	s.wg.Add(1)
	go func() { defer s.wg.Done(); s.fw.run(runCtx) }()
	if s.ln, err = net.Listen("tcp", cfg.Listen); err != nil {
		s.abort()
		return nil, fmt.Errorf("listen %s: %w", cfg.Listen, err)
	}
	if host, _, _ := net.SplitHostPort(cfg.Listen); !Loopback(host) {
		log.Warn("the local API listens beyond this machine: every request but /healthz needs the API token", "listen", s.ln.Addr().String())
	}
	s.http = &http.Server{Handler: s.routes(), ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.http.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("local API stopped", "err", err)
		}
	}()
	s.wg.Add(1)
	go func() { defer s.wg.Done(); s.watchHead(runCtx) }()
	for _, in := range cfg.Inputs {
		if err := s.startInput(runCtx, in); err != nil {
			s.abort()
			return nil, err
		}
	}
	if len(cfg.Outputs)+len(cfg.Inputs) > 0 && s.c.State().Connected {
		// A dataset the hub does not have is a configuration mistake: say so
		// now rather than retry forever (when the hub is away, it is
		// checked by the retries' log instead).
		lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		names, err := s.c.Datasets(lctx)
		cancel()
		if err == nil {
			known := map[string]bool{}
			for _, n := range names {
				known[n] = true
			}
			for _, p := range append(append([]PluginConfig{}, cfg.Inputs...), cfg.Outputs...) {
				if !known[p.Dataset] {
					s.abort()
					return nil, fmt.Errorf("%s %q: dataset %q is not on the hub (it has %v)", p.Type, p.Name, p.Dataset, names)
				}
			}
		}
	}
	for _, out := range cfg.Outputs {
		if err := s.startOutput(runCtx, out); err != nil {
			s.abort()
			return nil, err
		}
	}
	log.Info("connector ready", "actor", s.c.Actor(), "hub", cfg.Hub.URL, "listen", s.URL(), "inputs", len(cfg.Inputs), "outputs", len(cfg.Outputs))
	return s, nil
}

// abortWait bounds how long a failed start waits for what it started.
const abortWait = 10 * time.Second

// abort undoes a start that failed half-way, bounded so a plugin that does
// not stop cannot hold the error from its caller.
func (s *Sidecar) abort() {
	ctx, cancel := context.WithTimeout(context.Background(), abortWait)
	defer cancel()
	_ = s.Shutdown(ctx)
}

// watchHead logs a stuck outbox head (forwarder.stuck logs, at most every
// logEvery) whether or not anyone asks /healthz.
func (s *Sidecar) watchHead(ctx context.Context) {
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if st := s.c.State(); st.Connected {
				s.fw.stuck(st.Generation, s.cfg.StuckAfter)
			}
		}
	}
}

// URL is the local API's base URL.
func (s *Sidecar) URL() string { return "http://" + s.ln.Addr().String() }

// Client is the kit client the sidecar uses.
func (s *Sidecar) Client() *kit.Client { return s.c }

// Shutdown stops the API, the plugins and the forwarder; queued records stay
// in the outbox for the next start.
func (s *Sidecar) Shutdown(ctx context.Context) error {
	var errs []error
	if s.http != nil {
		if err := s.http.Shutdown(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if s.cancel != nil {
		s.cancel()
	}
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		errs = append(errs, ctx.Err())
	}
	if s.c != nil {
		_ = s.c.Close()
	}
	if s.ob != nil {
		if err := s.ob.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
