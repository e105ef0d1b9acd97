package natsd

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"sort"
	"sync"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"
)

// Conn is what the hub knows about a connecting client when it decides.
type Conn struct {
	// ID is the server's client id, used to cut the connection later.
	ID uint64
	// PublicKey is the nkey the client proved (signature of the nonce checked).
	PublicKey string
	// RemoteIP is the client's source address.
	RemoteIP string
	// Name is the connection name the client chose (informational only).
	Name string
}

// Grant is what a connection may do. An empty list means nothing: it is never
// read as "everything".
type Grant struct {
	// Actor is the identity recorded for the connection.
	Actor string
	// Publish and Subscribe are the subjects allowed.
	Publish, Subscribe []string
	// Responses lets the client answer messages it received (JetStream acks
	// and flow control go to reply subjects).
	Responses bool
	// Expires, if not zero, is when the server closes the connection so the
	// client reconnects and is judged again (a time-boxed grant ends).
	Expires time.Time
}

// Authorizer decides the rights of every actor connection. It is asked at
// each connect; the hub cuts live connections (Kick) when rights change.
type Authorizer interface {
	// Authorize returns the connection's rights, or an error whose message
	// is the reason it is refused.
	Authorize(ctx context.Context, c Conn) (Grant, error)
	// Refused is told about every refused connection, including those refused
	// before Authorize (no credentials, bad signature).
	Refused(c Conn, reason string)
}

// ErrNoAuthorizer refuses every actor until the hub has set its authorizer.
var ErrNoAuthorizer = errors.New("hub not ready to authorize actors")

// internalDeny keeps actors away from every subject family the hub owns,
// whatever else their grant says.
var internalDeny = []string{"$JS.>", "$SYS.>", "$KV.>", "$O.>", "data.>", "deadletter.>", "audit.>", "hub.internal.>", "_INBOX.>"}

// noSubject stands for "no subject at all": NATS reads an empty allow list as
// "everything", so a grant with nothing gets this unmatchable subject.
const noSubject = "_HUB_NOTHING_ALLOWED_"

// callout answers the server's authorization requests ($SYS.REQ.USER.AUTH).
type callout struct {
	issuer nkeys.KeyPair
	srv    *server.Server
	// ctx bounds the authorizer's calls; Server.Shutdown cancels it, so a
	// decision in flight does not outlive the server.
	ctx context.Context
	// subject turns a granted publish subject into the one the server
	// checks after its subject mapping (see Server.nodeSubject).
	subject func(string) string

	mu   sync.RWMutex
	auth Authorizer
	// conns is the registry of live connections: Kick and the cap below
	// read it.
	conns *Conns
	// maxPerActor caps each actor's connections (0 = no cap): without a
	// cap an actor with no rights at all can still open thousands of
	// connections and take the hub's memory and file descriptors.
	maxPerActor int
	// ready is closed once an authorizer is set: a client that connects
	// while the hub is still starting waits for it a moment instead of
	// being refused (which a client takes for a revoked key).
	ready     chan struct{}
	readyOnce sync.Once
}

// authorizerWait bounds how long a connection waits for a starting hub's
// authorizer, below the server's timeout for an authorization answer.
const authorizerWait = time.Second

func (c *callout) setAuthorizer(a Authorizer) {
	c.mu.Lock()
	c.auth = a
	c.mu.Unlock()
	if a != nil {
		c.readyOnce.Do(func() { close(c.ready) })
	}
}

// authorizer is the authorizer in force, waiting up to authorizerWait for
// a starting hub to set one.
func (c *callout) authorizer() Authorizer {
	select {
	case <-c.ready:
	case <-time.After(authorizerWait):
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.auth
}

func (c *callout) handle(m *nats.Msg) {
	req, err := jwt.DecodeAuthorizationRequestClaims(string(m.Data))
	if err != nil {
		return // not from the server: nothing to answer
	}
	if req.Server.ID != c.srv.ID() {
		// In a cluster every node hears every node's requests; the node the
		// client connects to decides it, with its own issuer key, and keeps
		// the connection to cut it later.
		return
	}
	conn := Conn{
		ID:        req.ClientInformation.ID,
		PublicKey: req.ConnectOptions.Nkey,
		RemoteIP:  hostOnly(req.ClientInformation.Host),
		Name:      req.ConnectOptions.Name,
	}
	a := c.authorizer()
	deny := func(reason string) {
		c.conns.Remove(conn.ID) // if the authorizer recorded it
		if a != nil {
			a.Refused(conn, reason)
		}
		c.respond(m, req, "", reason)
	}
	switch {
	case conn.PublicKey == "":
		deny("no nkey credentials")
		return
	case !verify(conn.PublicKey, req.ConnectOptions.SignedNonce, req.ClientInformation.Nonce):
		deny("bad nkey signature")
		return
	case a == nil:
		deny(ErrNoAuthorizer.Error())
		return
	}
	ctx, cancel := context.WithTimeout(c.ctx, 2*time.Second)
	defer cancel()
	g, err := a.Authorize(ctx, conn)
	if err != nil {
		deny(err.Error())
		return
	}
	// Requests are answered one at a time (one subscription), so the count
	// cannot grow between this check and the add below.
	if c.conns.AtLimit(g.Actor, conn.ID, c.maxPerActor) {
		deny(fmt.Sprintf("too many connections: actor %s already has %d open, the limit per actor (max_conns_per_actor)", g.Actor, c.maxPerActor))
		return
	}
	uc := jwt.NewUserClaims(req.UserNkey)
	uc.Name = g.Actor
	uc.Audience = server.DEFAULT_GLOBAL_ACCOUNT
	pub := make([]string, len(g.Publish))
	for i, p := range g.Publish {
		pub[i] = c.subject(p)
	}
	uc.Pub.Allow.Add(orNothing(pub)...)
	uc.Pub.Deny.Add(internalDeny...)
	uc.Sub.Allow.Add(orNothing(g.Subscribe)...)
	uc.Sub.Deny.Add(internalDeny...)
	uc.Sub.Deny.Add("ingest.>")
	if g.Responses {
		// An ack answers a delivery: allow it for longer than the longest
		// ack wait the hub grants (delivery.MaxAckWait, 10 minutes).
		uc.Resp = &jwt.ResponsePermission{MaxMsgs: 1, Expires: 15 * time.Minute}
	}
	if !g.Expires.IsZero() {
		uc.Expires = g.Expires.Add(time.Second - time.Nanosecond).Unix()
		if !g.Expires.After(time.Now()) {
			deny("grant expired")
			return
		}
	}
	ujwt, err := uc.Encode(c.issuer)
	if err != nil {
		deny("issue credentials: " + err.Error())
		return
	}
	c.conns.Add(conn, g)
	c.respond(m, req, ujwt, "")
}

func (c *callout) respond(m *nats.Msg, req *jwt.AuthorizationRequestClaims, userJWT, errMsg string) {
	rc := jwt.NewAuthorizationResponseClaims(req.UserNkey)
	rc.Audience = req.Server.ID
	rc.Jwt = userJWT
	rc.Error = errMsg
	tok, err := rc.Encode(c.issuer)
	if err != nil {
		return // the server times the request out and refuses the client
	}
	_ = m.Respond([]byte(tok))
}

// kick closes the live connections of actor (all actors when actor is "").
// Their clients reconnect and are authorized again under the rules in force.
func (c *callout) kick(actor string) int {
	return c.conns.Cut(func(l Live) bool { return actor == "" || l.Grant.Actor == actor })
}

func orNothing(subjects []string) []string {
	if len(subjects) == 0 {
		return []string{noSubject}
	}
	s := append([]string(nil), subjects...)
	sort.Strings(s)
	return s
}

func verify(pub, sig, nonce string) bool {
	if nonce == "" || sig == "" {
		return false
	}
	raw, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil {
		if raw, err = base64.StdEncoding.DecodeString(sig); err != nil {
			return false
		}
	}
	kp, err := nkeys.FromPublicKey(pub)
	if err != nil {
		return false
	}
	return kp.Verify([]byte(nonce), raw) == nil
}

func hostOnly(h string) string {
	if host, _, err := net.SplitHostPort(h); err == nil {
		return host
	}
	return h
}
