package httpserve

import (
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Answering a connection over a cap costs a goroutine and a descriptor until
// its request arrives, so only a few are answered at once, and only if their
// request comes quickly; the rest are closed at once.
const (
	maxAnswering      = 64
	maxAnsweringPerIP = 8
	answerWithin      = 2 * time.Second
)

// refusal is why a connection is answered with a refusal instead of served.
type refusal struct {
	status int
	detail string
}

// limitListener caps open connections per client address and in total.
type limitListener struct {
	net.Listener
	cfg Config
	log *slog.Logger

	mu          sync.Mutex
	open        map[string]int // admitted connections per address
	total       int
	answering   int
	answeringIP map[string]int
	lastLog     time.Time

	refused atomic.Uint64 // answered 429/503
	dropped atomic.Uint64 // closed unanswered
}

func newLimitListener(ln net.Listener, cfg Config, log *slog.Logger) *limitListener {
	return &limitListener{Listener: ln, cfg: cfg, log: log, open: map[string]int{}, answeringIP: map[string]int{}}
}

// Accept admits the next connection within the caps. One over a cap is
// returned marked for refusal while few are being refused, else closed.
func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := hostOf(c.RemoteAddr())
		l.mu.Lock()
		var ref *refusal
		switch {
		case l.cfg.MaxConns > 0 && l.total >= l.cfg.MaxConns:
			ref = &refusal{503, fmt.Sprintf("the server is at its limit of %d open connections; retry later", l.cfg.MaxConns)}
		case l.cfg.MaxConnsPerIP > 0 && l.open[ip] >= l.cfg.MaxConnsPerIP:
			ref = &refusal{429, fmt.Sprintf("%s already has %d open connections, the limit per client address; close some or reuse them", ip, l.cfg.MaxConnsPerIP)}
		default:
			l.open[ip]++
			l.total++
			l.mu.Unlock()
			return &trackedConn{Conn: c, l: l, ip: ip}, nil
		}
		answer := l.answering < maxAnswering && l.answeringIP[ip] < maxAnsweringPerIP
		if answer {
			l.answering++
			l.answeringIP[ip]++
		}
		logNow := time.Since(l.lastLog) > 10*time.Second
		if logNow {
			l.lastLog = time.Now()
		}
		l.mu.Unlock()
		if logNow {
			l.log.Warn("http connections refused", "remote", ip, "reason", ref.detail,
				"refused_total", l.refused.Load(), "dropped_total", l.dropped.Load())
		}
		if answer {
			l.refused.Add(1)
			return &trackedConn{Conn: c, l: l, ip: ip, refuse: ref, answerBy: time.Now().Add(answerWithin)}, nil
		}
		l.dropped.Add(1)
		_ = c.Close()
	}
}

func (l *limitListener) release(c *trackedConn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if c.refuse != nil {
		l.answering--
		if l.answeringIP[c.ip]--; l.answeringIP[c.ip] <= 0 {
			delete(l.answeringIP, c.ip)
		}
		return
	}
	l.total--
	if l.open[c.ip]--; l.open[c.ip] <= 0 {
		delete(l.open, c.ip)
	}
}

func (l *limitListener) stats() Stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	return Stats{Open: l.total, Refused: l.refused.Load(), Dropped: l.dropped.Load()}
}

// trackedConn gives its slot back when closed. A connection marked for
// refusal never waits longer than answerWithin for its request.
type trackedConn struct {
	net.Conn
	l        *limitListener
	ip       string
	refuse   *refusal
	answerBy time.Time
	once     sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() { c.l.release(c) })
	return c.Conn.Close()
}

func (c *trackedConn) SetReadDeadline(t time.Time) error {
	return c.Conn.SetReadDeadline(c.clamp(t))
}

func (c *trackedConn) SetDeadline(t time.Time) error {
	if err := c.Conn.SetWriteDeadline(t); err != nil {
		return err
	}
	return c.Conn.SetReadDeadline(c.clamp(t))
}

func (c *trackedConn) clamp(t time.Time) time.Time {
	if c.refuse != nil && (t.IsZero() || t.After(c.answerBy)) {
		return c.answerBy
	}
	return t
}

func hostOf(a net.Addr) string {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.IP.String()
	}
	if h, _, err := net.SplitHostPort(a.String()); err == nil {
		return h
	}
	return a.String()
}
