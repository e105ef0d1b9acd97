package web

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/nats-io/nkeys"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/internal/problem"
)

// LoginMessage is what an actor signs with its nkey to sign in: the prefix
// and the hub's challenge. The prefix keeps a login signature from ever
// being mistaken for a NATS nonce signature, or the reverse.
func LoginMessage(nonce string) []byte { return []byte("jobtech-datahub web login\n" + nonce) }

// ChallengeRequest asks for a sign-in challenge for an actor.
type ChallengeRequest struct {
	Actor string `json:"actor"`
}

// Challenge is the hub's nonce to sign, valid for two minutes, once.
type Challenge struct {
	Nonce     string    `json:"nonce"`
	ExpiresAt time.Time `json:"expires_at"`
}

// TokenRequest answers a challenge: the signature of LoginMessage(nonce)
// with the actor's nkey, base64url (no padding).
type TokenRequest struct {
	Actor     string `json:"actor"`
	Nonce     string `json:"nonce"`
	Signature string `json:"signature"`
}

// SignInLink is a one-time link that signs a browser in as the actor, valid
// for five minutes.
type SignInLink struct {
	Path      string    `json:"path"`
	ExpiresAt time.Time `json:"expires_at"`
}

// logins holds the challenges and one-time tickets in flight.
type logins struct {
	mu         sync.Mutex
	challenges map[string]pending
	tickets    map[string]pending
}

type pending struct {
	actor   string
	expires time.Time
}

func newLogins() *logins {
	return &logins{challenges: map[string]pending{}, tickets: map[string]pending{}}
}

// put stores a new token for actor in m, forgetting expired ones; at most
// 10,000 are held (the oldest are then refused: a flood cannot grow memory).
func (l *logins) put(m map[string]pending, actor string, ttl time.Duration) (string, time.Time, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	for k, p := range m {
		if now.After(p.expires) {
			delete(m, k)
		}
	}
	if len(m) >= 10000 {
		return "", time.Time{}, false
	}
	tok := randomToken()
	exp := now.Add(ttl)
	m[tok] = pending{actor: actor, expires: exp}
	return tok, exp, true
}

// take consumes a token of m: valid once, before it expires.
func (l *logins) take(m map[string]pending, tok string) (string, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	p, ok := m[tok]
	delete(m, tok)
	if !ok || time.Now().After(p.expires) {
		return "", false
	}
	return p.actor, true
}

func decodeJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, 16<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return problem.New(wire.CodeBadRequest, "request body: "+err.Error())
	}
	return nil
}

// loginChallenge gives a nonce to sign. It answers alike whether the actor
// exists or not.
func (w *Web) loginChallenge(rw http.ResponseWriter, r *http.Request) {
	if !w.signins.allow(r) {
		problem.Write(rw, r, problem.New(wire.CodeRateLimited, "too many sign-in attempts from your address: retry in a minute").RetryAfter(time.Minute))
		return
	}
	var req ChallengeRequest
	if err := decodeJSON(r, &req); err != nil {
		problem.Write(rw, r, err)
		return
	}
	if !wire.ValidName(req.Actor) {
		problem.Write(rw, r, problem.New(wire.CodeBadRequest, "actor: not an actor name ([a-z][a-z0-9-]{0,62})"))
		return
	}
	nonce, exp, ok := w.logins.put(w.logins.challenges, req.Actor, 2*time.Minute)
	if !ok {
		problem.Write(rw, r, problem.New(wire.CodeRateLimited, "too many sign-ins in flight: retry in a minute").RetryAfter(time.Minute))
		return
	}
	_ = problem.WriteJSON(rw, http.StatusOK, Challenge{Nonce: nonce, ExpiresAt: exp})
}

// loginToken checks the signed challenge against the actor's registered
// public key and answers a one-time sign-in link.
func (w *Web) loginToken(rw http.ResponseWriter, r *http.Request) {
	if !w.signins.allow(r) {
		problem.Write(rw, r, problem.New(wire.CodeRateLimited, "too many sign-in attempts from your address: retry in a minute").RetryAfter(time.Minute))
		return
	}
	var req TokenRequest
	if err := decodeJSON(r, &req); err != nil {
		problem.Write(rw, r, err)
		return
	}
	refuse := func() {
		w.log.Warn("actor sign-in refused", "actor", req.Actor, "remote", r.RemoteAddr)
		problem.Write(rw, r, problem.New(problem.CodeUnauthorized, "the challenge is unknown or expired, or the signature is not the actor's: run connector login again"))
	}
	actor, ok := w.logins.take(w.logins.challenges, req.Nonce)
	if !ok || actor != req.Actor {
		refuse()
		return
	}
	a, ok := w.Access.Actors.Get(actor)
	sig, err := base64.RawURLEncoding.DecodeString(req.Signature)
	if !ok || err != nil {
		refuse()
		return
	}
	pk, err := nkeys.FromPublicKey(a.PublicKey)
	if err != nil || pk.Verify(LoginMessage(req.Nonce), sig) != nil {
		refuse()
		return
	}
	ticket, exp, ok := w.logins.put(w.logins.tickets, actor, 5*time.Minute)
	if !ok {
		problem.Write(rw, r, problem.New(wire.CodeRateLimited, "too many sign-ins in flight: retry in a minute").RetryAfter(time.Minute))
		return
	}
	w.log.Info("actor sign-in link issued", "actor", actor, "remote", r.RemoteAddr)
	_ = problem.WriteJSON(rw, http.StatusOK, SignInLink{Path: "/login/ticket/" + ticket, ExpiresAt: exp})
}

// loginTicket signs the browser in with a one-time link.
func (w *Web) loginTicket(rw http.ResponseWriter, r *http.Request) {
	if !w.signins.allow(r) {
		w.fail(rw, r, http.StatusTooManyRequests, "Too many sign-in attempts from your address: retry in a minute.")
		return
	}
	actor, ok := w.logins.take(w.logins.tickets, r.PathValue("ticket"))
	if !ok {
		w.fail(rw, r, http.StatusUnauthorized, "This sign-in link is unknown, used or expired: run connector login again for a new one.")
		return
	}
	if _, still := w.Access.Actors.Get(actor); !still {
		w.fail(rw, r, http.StatusUnauthorized, "This actor is not registered on this hub any more.")
		return
	}
	w.sessions.start(rw, r, kindActor, actor)
	http.Redirect(rw, r, "/me", http.StatusSeeOther)
}

func (w *Web) loginPage(rw http.ResponseWriter, r *http.Request) {
	w.render(rw, r, http.StatusOK, "login", page{Title: "Sign in", Section: "login"})
}

// logout ends any session (the form carries its CSRF token).
func (w *Web) logout(rw http.ResponseWriter, r *http.Request) {
	ss := w.sessions.get(r, "")
	if ss != nil && !checkCSRF(r, ss) {
		w.fail(rw, r, http.StatusForbidden, "The form is stale: reload the page and try again.")
		return
	}
	w.sessions.end(rw, r)
	http.Redirect(rw, r, "/?done=signedout", http.StatusSeeOther)
}
