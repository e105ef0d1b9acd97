package natsd

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
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
	// TLS, if set, makes the client port TLS only (plain clients are
	// refused); with ClientAuth RequireAndVerifyClientCert every client must
	// also present a certificate (mutual TLS). Either way the auth callout
	// still decides every connection: a certificate adds a requirement, it
	// never replaces the nkey. The config is read at each handshake, so one
	// whose GetConfigForClient returns renewed certificates serves them to new
	// connections without touching the open ones (servertls does that).
	// In-process connections (the hub's own) never use TLS.
	TLS *tls.Config
	// OnViolation, if set, is told about every permission violation of an
	// actor connection (a publish or subscribe its rights do not allow).
	OnViolation func(actor string, cid uint64, msg string)
	// MaxConns caps all client connections, authenticated or not (0 = the
	// NATS default, 64K). MaxConnsPerActor caps one actor's connections: the
	// next is refused by the auth callout, with the reason (0 = no cap).
	MaxConns         int
	MaxConnsPerActor int
	// SyncInterval is how often JetStream syncs its files (0 = the NATS
	// default, 2 minutes).
	SyncInterval time.Duration
	// Cluster, if set, makes the server a node of a cluster of hub nodes;
	// Name must then be unique among them.
	Cluster *ClusterConfig
	// Advertise is the client address (host:port) this node tells clients
	// and the other nodes about, when Listen is not how clients reach it.
	Advertise string
}

// Server is a running embedded NATS server and the hub's identity on it.
type Server struct {
	ns        *server.Server
	hub       nkeys.KeyPair
	log       *slog.Logger
	callout   *callout
	authNC    *nats.Conn // answers authorization requests
	faults    *storageFaults
	node      string // the server name, unique in a cluster
	clustered bool
	// stop ends the server's own context, which every call the server
	// makes on its own (the auth callout's decisions) runs under.
	stop context.CancelFunc
}

// ErrNotReady is returned when the server did not become ready in time.
var ErrNotReady = errors.New("nats server not ready")

// Start starts the server and waits until it accepts connections or ctx ends.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	host, port, err := splitListen(cfg.Listen)
	if err != nil {
		return nil, err
	}
	if port != server.RANDOM_PORT {
		// The server only logs a failed bind and never becomes ready: find
		// out first, and say why.
		ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err != nil {
			return nil, fmt.Errorf("nats listen %s: %w", cfg.Listen, err)
		}
		ln.Close()
	}
	hubKey, err := nkeys.CreateUser()
	if err != nil {
		return nil, fmt.Errorf("create hub identity: %w", err)
	}
	hubPub, _ := hubKey.PublicKey()
	// The issuer signs the short-lived user credentials the hub hands each
	// actor connection; like the hub's identity it lives only in memory.
	issuer, err := nkeys.CreateAccount()
	if err != nil {
		return nil, fmt.Errorf("create callout issuer: %w", err)
	}
	issuerPub, _ := issuer.PublicKey()
	name := cfg.Name
	if name == "" {
		name = "hub"
	}
	if !validNode(name) {
		return nil, fmt.Errorf("server name %q must be 1 to 63 letters, digits, '-' or '_'", name)
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
		// The hub's own identity is the only configured user. Every other
		// connection is decided by the hub's auth callout: it must prove an
		// nkey by signing the nonce, and gets only the rights the sharing
		// policies give it from where it connects, now.
		Nkeys:             []*server.NkeyUser{{Nkey: hubPub}},
		AlwaysEnableNonce: true,
		AuthCallout: &server.AuthCallout{
			Issuer:    issuerPub,
			Account:   server.DEFAULT_GLOBAL_ACCOUNT,
			AuthUsers: []string{hubPub},
		},
	}
	if cfg.Advertise != "" {
		opts.ClientAdvertise = cfg.Advertise
	}
	if cfg.Cluster != nil {
		if err := cfg.Cluster.apply(opts); err != nil {
			return nil, err
		}
		// The hand-over at shutdown (see Shutdown) stays short: leaders
		// move within a second, then the clients left are closed.
		opts.LameDuckDuration = 2 * time.Second
		opts.LameDuckGracePeriod = 500 * time.Millisecond
		if opts.Cluster.Port != server.RANDOM_PORT {
			ln, err := net.Listen("tcp", net.JoinHostPort(opts.Cluster.Host, strconv.Itoa(opts.Cluster.Port)))
			if err != nil {
				return nil, fmt.Errorf("cluster listen %s: %w", cfg.Cluster.Listen, err)
			}
			ln.Close()
		}
	}
	if cfg.TLS != nil {
		opts.TLSConfig = cfg.TLS
		opts.TLSVerify = cfg.TLS.ClientAuth == tls.RequireAndVerifyClientCert
		opts.TLSTimeout = 5 // seconds, for a handshake over a slow link
	}
	opts.MaxConn, opts.SyncInterval = cfg.MaxConns, cfg.SyncInterval
	ns, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("configure nats server: %w", err)
	}
	faults := &storageFaults{}
	life, stop := context.WithCancel(context.WithoutCancel(ctx))
	s := &Server{ns: ns, hub: hubKey, log: log, faults: faults, node: name, clustered: cfg.Cluster != nil, stop: stop}
	conns := newConns(func(id uint64) bool { return ns.GetClient(id) != nil }, func(id uint64) bool { return ns.DisconnectClientByID(id) == nil })
	co := &callout{issuer: issuer, srv: ns, ctx: life, conns: conns, maxPerActor: cfg.MaxConnsPerActor, subject: s.nodeSubject, ready: make(chan struct{})}
	s.callout = co
	adapter := slogAdapter{l: log.With("component", "nats"), storageFault: faults.note}
	if cfg.OnViolation != nil {
		adapter.violation = func(cid uint64, msg string) { cfg.OnViolation(conns.Actor(cid), cid, msg) }
	}
	ns.SetLoggerV2(adapter, false, false, false)
	ns.Start()
	wait := 10 * time.Second
	if dl, ok := ctx.Deadline(); ok {
		wait = time.Until(dl)
	}
	if !ns.ReadyForConnections(wait) {
		stop()
		ns.Shutdown()
		return nil, fmt.Errorf("start nats on %s: %w", cfg.Listen, ErrNotReady)
	}
	if err := s.ingestMapping(); err != nil {
		stop()
		ns.Shutdown()
		return nil, err
	}
	if s.authNC, err = s.Connect("hub-auth"); err != nil {
		stop()
		ns.Shutdown()
		return nil, err
	}
	if _, err := s.authNC.Subscribe(server.AuthCalloutSubject, s.callout.handle); err != nil {
		stop()
		s.authNC.Close()
		ns.Shutdown()
		return nil, fmt.Errorf("subscribe %s: %w", server.AuthCalloutSubject, err)
	}
	if err := s.authNC.Flush(); err != nil {
		stop()
		s.authNC.Close()
		ns.Shutdown()
		return nil, fmt.Errorf("subscribe %s: %w", server.AuthCalloutSubject, err)
	}
	return s, nil
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

// ClientURL is the URL clients on other processes connect to: tls://… when
// the client port serves TLS, nats://… otherwise.
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

// SetAuthorizer sets who decides actor connections; until it is set every
// actor is refused.
func (s *Server) SetAuthorizer(a Authorizer) { s.callout.setAuthorizer(a) }

// Kick closes the live connections of actor ("" = every actor), so its
// clients reconnect and get the rights now in force. It returns how many
// connections it closed.
func (s *Server) Kick(actor string) int { return s.callout.kick(actor) }

// Connected counts the live connections per actor.
func (s *Server) Connected() map[string]int { return s.callout.conns.Count() }

// Conns is the registry of the live actor connections: who each is and
// the grant it was let in with.
func (s *Server) Conns() *Conns { return s.callout.conns }

// Shutdown stops the server, letting JetStream flush its files.
func (s *Server) Shutdown(ctx context.Context) error {
	s.stop()
	if s.authNC != nil {
		s.authNC.Close()
	}
	done := make(chan struct{})
	go func() {
		if s.clustered {
			// A cluster node hands over first: the streams it leads get a
			// new leader at once (no election timeout for the others to wait
			// out), and its clients are closed so they move to other nodes.
			s.ns.LameDuckShutdown()
		} else {
			s.ns.Shutdown()
		}
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
