package web

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net"
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Session kinds.
const (
	kindAdmin = "admin"
	kindActor = "actor"
)

// cookieName is the session cookie.
const cookieName = "hub_session"

// preCSRFCookie carries the CSRF token of forms shown before a session
// exists (the sign-in form): double-submit.
const preCSRFCookie = "hub_csrf"

// session is one signed-in browser.
type session struct {
	id      string
	kind    string // kindAdmin or kindActor
	actor   string // for kindActor
	csrf    string
	expires time.Time
}

// sessions are held in memory: a restart signs everyone out, which is the
// safe direction. Each has an absolute expiry.
type sessions struct {
	mu     sync.Mutex
	byID   map[string]*session
	maxAge time.Duration
}

func newSessions(maxAge time.Duration) *sessions {
	if maxAge <= 0 {
		maxAge = 8 * time.Hour
	}
	return &sessions{byID: map[string]*session{}, maxAge: maxAge}
}

// randomToken returns 32 random bytes, URL-safe base64.
func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// start creates a session and sets its cookie.
func (s *sessions) start(w http.ResponseWriter, r *http.Request, kind, actor string) *session {
	ss := &session{id: randomToken(), kind: kind, actor: actor, csrf: randomToken(), expires: time.Now().Add(s.maxAge)}
	s.mu.Lock()
	now := time.Now()
	for id, old := range s.byID { // forget the expired while here
		if now.After(old.expires) {
			delete(s.byID, id)
		}
	}
	s.byID[ss.id] = ss
	s.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: ss.id, Path: "/", HttpOnly: true, Secure: r.TLS != nil,
		SameSite: http.SameSiteStrictMode, Expires: ss.expires, MaxAge: int(s.maxAge / time.Second)})
	return ss
}

// get returns the request's live session of kind ("" = any), or nil.
func (s *sessions) get(r *http.Request, kind string) *session {
	c, err := r.Cookie(cookieName)
	if err != nil || c.Value == "" {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ss := s.byID[c.Value]
	if ss == nil {
		return nil
	}
	if time.Now().After(ss.expires) {
		delete(s.byID, c.Value)
		return nil
	}
	if kind != "" && ss.kind != kind {
		return nil
	}
	return ss
}

// end forgets the request's session and clears its cookie.
func (s *sessions) end(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(cookieName); err == nil {
		s.mu.Lock()
		delete(s.byID, c.Value)
		s.mu.Unlock()
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/", HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode, MaxAge: -1})
}

// checkCSRF reports whether a form's csrf field is the session's token.
func checkCSRF(r *http.Request, ss *session) bool {
	got := r.PostFormValue("csrf")
	return ss != nil && got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(ss.csrf)) == 1
}

// preCSRF returns the token of a form shown without a session, setting its
// cookie when there is none yet.
func preCSRF(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(preCSRFCookie); err == nil && len(c.Value) >= 32 {
		return c.Value
	}
	tok := randomToken()
	http.SetCookie(w, &http.Cookie{Name: preCSRFCookie, Value: tok, Path: "/", HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode, MaxAge: 3600})
	return tok
}

// checkPreCSRF checks a form posted without a session against its cookie.
func checkPreCSRF(r *http.Request) bool {
	c, err := r.Cookie(preCSRFCookie)
	got := r.PostFormValue("csrf")
	return err == nil && got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(c.Value)) == 1
}

// limiter is a token bucket per client address.
type limiter struct {
	mu    sync.Mutex
	per   rate.Limit
	burst int
	by    map[string]*rate.Limiter
	seen  map[string]time.Time
}

// newLimiter allows n events a minute per address, n at once.
func newLimiter(n int) *limiter {
	return &limiter{per: rate.Limit(float64(n) / 60), burst: n, by: map[string]*rate.Limiter{}, seen: map[string]time.Time{}}
}

// allow reports whether the request's address may go on now.
func (l *limiter) allow(r *http.Request) bool {
	ip := clientIP(r)
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if len(l.by) > 10000 { // forget addresses idle for ten minutes
		for k, t := range l.seen {
			if now.Sub(t) > 10*time.Minute {
				delete(l.by, k)
				delete(l.seen, k)
			}
		}
	}
	lim := l.by[ip]
	if lim == nil {
		lim = rate.NewLimiter(l.per, l.burst)
		l.by[ip] = lim
	}
	l.seen[ip] = now
	return lim.Allow()
}

// clientIP is the address the connection comes from (no proxy header is
// trusted: a stranger could send any).
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
