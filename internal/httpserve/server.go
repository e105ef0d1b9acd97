package httpserve

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Server serves one handler within a Config's limits.
type Server struct {
	cfg Config
	h   http.Handler
	log *slog.Logger
	srv *http.Server

	mu  sync.Mutex
	lns []*limitListener
}

// Stats counts a server's connections.
type Stats struct {
	// Open is the connections being served now.
	Open int
	// Refused counts connections over a cap that were answered 429 or 503;
	// Dropped those closed without an answer.
	Refused, Dropped uint64
}

// New returns a server for h; start it with Serve. A nil log discards.
func New(h http.Handler, cfg Config, log *slog.Logger) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg.withDefaults(), h: h, log: log}
	s.srv = &http.Server{
		Handler:           http.HandlerFunc(s.serveHTTP),
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		ReadTimeout:       s.cfg.ReadTimeout,
		IdleTimeout:       s.cfg.IdleTimeout,
		MaxHeaderBytes:    s.cfg.MaxHeaderBytes,
		ConnContext:       connContext,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	return s
}

// Config is the configuration in force, defaults filled in.
func (s *Server) Config() Config { return s.cfg }

// Serve accepts connections on ln within the caps until Shutdown or Close;
// like http.Server.Serve it returns http.ErrServerClosed then.
func (s *Server) Serve(ln net.Listener) error {
	l := newLimitListener(ln, s.cfg, s.log)
	s.mu.Lock()
	s.lns = append(s.lns, l)
	s.mu.Unlock()
	return s.srv.Serve(l)
}

// ServeTLS is Serve over TLS: the caps apply to the TCP connections, before
// the handshake. cfg chooses the certificate per connection (it may change
// it while serving, for a reload).
func (s *Server) ServeTLS(ln net.Listener, cfg *tls.Config) error {
	l := newLimitListener(ln, s.cfg, s.log)
	s.mu.Lock()
	s.lns = append(s.lns, l)
	s.srv.TLSConfig = cfg
	s.mu.Unlock()
	return s.srv.ServeTLS(l, "", "")
}

// Shutdown stops accepting, lets requests in progress finish until ctx
// ends, and closes the connections.
func (s *Server) Shutdown(ctx context.Context) error { return s.srv.Shutdown(ctx) }

// Close closes every listener and connection at once.
func (s *Server) Close() error { return s.srv.Close() }

// Stats counts the connections of every listener served.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	var st Stats
	for _, l := range s.lns {
		ls := l.stats()
		st.Open += ls.Open
		st.Refused += ls.Refused
		st.Dropped += ls.Dropped
	}
	return st
}

type refusalKey struct{}

func connContext(ctx context.Context, c net.Conn) context.Context {
	if t, ok := c.(*tls.Conn); ok {
		c = t.NetConn()
	}
	if tc, ok := c.(*trackedConn); ok && tc.refuse != nil {
		return context.WithValue(ctx, refusalKey{}, tc.refuse)
	}
	return ctx
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if ref, ok := r.Context().Value(refusalKey{}).(*refusal); ok {
		// Nothing of the request is read: the connection closes after the
		// answer.
		w.Header().Set("Connection", "close")
		w.Header().Set("Retry-After", strconv.Itoa(int((s.cfg.RetryAfter+time.Second-1)/time.Second)))
		_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(answerWithin))
		if s.cfg.Refuse != nil {
			s.cfg.Refuse(w, r, ref.status, ref.detail)
			return
		}
		http.Error(w, ref.detail, ref.status)
		return
	}
	dw := &deadlineWriter{ResponseWriter: w, rc: http.NewResponseController(w), cfg: &s.cfg}
	// Every write gets a deadline: from the start (net/http may write a
	// 100 Continue itself), renewed when the response starts, and again
	// when the handler returns, for what net/http still has to send.
	dw.armWrite()
	defer dw.armWrite()
	if r.Body != nil && r.Body != http.NoBody {
		r.Body = &watchedBody{ReadCloser: r.Body, d: dw}
	}
	s.h.ServeHTTP(dw, r)
}
