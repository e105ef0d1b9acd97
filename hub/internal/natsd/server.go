package natsd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"
)

// Config says how to run the embedded server. The zero value works: a random
// loopback port and JetStream in a temporary-looking "jetstream" folder of
// the working directory.
type Config struct {
	// Name names this server (and the hub): it appears in logs and monitoring.
	Name string
	// Listen is the client address, host:port; port 0 picks a free one.
	Listen string
	// StoreDir is where JetStream keeps its files.
	StoreDir string
	// MaxPayload bounds one message (record plus headers), in bytes.
	MaxPayload int32
	// Logger receives the server's own log lines.
	Logger *slog.Logger
}

// Server is a running embedded NATS server and the hub's identity on it.
type Server struct {
	ns  *server.Server
	hub nkeys.KeyPair
	log *slog.Logger

	mu   sync.Mutex      // serialises reloads
	opts *server.Options // the options last applied
}

// ErrNotReady is returned when the server did not become ready in time.
var ErrNotReady = errors.New("nats server not ready")

// Start starts the server and waits until it accepts connections or ctx ends.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	host, port, err := splitListen(cfg.Listen)
	if err != nil {
		return nil, err
	}
	hubKey, err := nkeys.CreateUser()
	if err != nil {
		return nil, fmt.Errorf("create hub identity: %w", err)
	}
	hubPub, _ := hubKey.PublicKey()
	name := cfg.Name
	if name == "" {
		name = "hub"
	}
	storeDir := cfg.StoreDir
	if storeDir == "" {
		storeDir = "jetstream"
	}
	opts := &server.Options{
		ServerName: name,
		Host:       host,
		Port:       port,
		JetStream:  true,
		StoreDir:   filepath.Clean(storeDir),
		NoSigs:     true,
		MaxPayload: cfg.MaxPayload,
		// Only nkey users exist: a connection without a known key and a valid
		// signature of the server's nonce is refused.
		Nkeys: []*server.NkeyUser{{Nkey: hubPub}},
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("configure nats server: %w", err)
	}
	ns.SetLoggerV2(slogAdapter{log.With("component", "nats")}, false, false, false)
	ns.Start()
	wait := 10 * time.Second
	if dl, ok := ctx.Deadline(); ok {
		wait = time.Until(dl)
	}
	if !ns.ReadyForConnections(wait) {
		ns.Shutdown()
		return nil, fmt.Errorf("start nats on %s: %w", cfg.Listen, ErrNotReady)
	}
	return &Server{ns: ns, hub: hubKey, log: log, opts: opts}, nil
}

// splitListen turns host:port into server options; port 0 means any free port.
func splitListen(listen string) (string, int, error) {
	if listen == "" {
		return "127.0.0.1", server.RANDOM_PORT, nil
	}
	host, p, err := net.SplitHostPort(listen)
	if err != nil {
		return "", 0, fmt.Errorf("nats listen address %q: %w", listen, err)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("nats listen address %q: bad port", listen)
	}
	if port == 0 {
		port = server.RANDOM_PORT
	}
	return host, port, nil
}

// ClientURL is the URL clients on other processes connect to.
func (s *Server) ClientURL() string { return s.ns.ClientURL() }

// Addr is the address the server listens on.
func (s *Server) Addr() net.Addr { return s.ns.Addr() }

// NATS exposes the embedded server for the few callers that need its
// monitoring (stream and connection state).
func (s *Server) NATS() *server.Server { return s.ns }

// Connect opens an in-process connection with the hub's own identity.
func (s *Server) Connect(name string, opts ...nats.Option) (*nats.Conn, error) {
	pub, _ := s.hub.PublicKey()
	all := append([]nats.Option{
		nats.Name(name),
		nats.InProcessServer(s.ns),
		nats.Nkey(pub, s.hub.Sign),
		nats.MaxReconnects(-1),
	}, opts...)
	nc, err := nats.Connect("", all...)
	if err != nil {
		return nil, fmt.Errorf("connect %s in-process: %w", name, err)
	}
	return nc, nil
}

// SetUsers replaces the actor identities (the hub's own is always kept) and
// reloads the server: live connections of removed users are closed, and the
// others get their new permissions in place, so removed rights are cut and
// new ones usable at once.
func (s *Server) SetUsers(users []User) error {
	pub, _ := s.hub.PublicKey()
	all := append([]User{{Name: s.ns.Name(), PublicKey: pub}}, users...)
	nk := nkeyUsers(all)
	sort.Slice(nk, func(i, j int) bool { return nk[i].Nkey < nk[j].Nkey })
	s.mu.Lock()
	defer s.mu.Unlock()
	opts := s.opts.Clone()
	opts.Nkeys = nk
	if err := s.ns.ReloadOptions(opts); err != nil {
		return fmt.Errorf("reload nats permissions: %w", err)
	}
	s.opts = opts
	return nil
}

// Shutdown stops the server, letting JetStream flush its files.
func (s *Server) Shutdown(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		s.ns.Shutdown()
		s.ns.WaitForShutdown()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("nats shutdown: %w", ctx.Err())
	}
}
