package natsd

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
)

// ClusterConfig joins the embedded server to the other nodes of one hub as a
// NATS cluster: the servers connect by routes, and JetStream replicates
// streams between them with its own RAFT groups. Every node must be given the
// same Name and Secret.
type ClusterConfig struct {
	// Name names the cluster; every node gives the same one.
	Name string
	// Listen is where this node accepts routes from the others (host:port;
	// port 0 picks a free one).
	Listen string
	// Advertise is the host:port the other nodes reach this node's routes
	// at, when Listen is not (a wildcard or a NATed address). "" leaves it
	// to the server.
	Advertise string
	// Routes are the other nodes' route addresses, host:port or
	// nats-route://host:port. A node may list itself: the server skips it.
	Routes []string
	// Secret is what every route must present (the route's password): a
	// server without it cannot join, and this node will not join one that
	// does not know it. Required.
	Secret string
	// TLS, if set, makes the routes mutual TLS: each node presents its
	// certificate and checks the other's against the CA in RootCAs and
	// ClientCAs. The secret is still required.
	TLS *tls.Config
}

// routeUser is the user name every route presents with the cluster secret.
const routeUser = "hub-route"

// ErrNoClusterSecret refuses a cluster without a secret: anyone who could
// reach the route port would otherwise join and read every record.
var ErrNoClusterSecret = errors.New("a cluster needs a secret (cluster_secret_file)")

// validNode matches a node name: one subject token of plain characters.
func validNode(s string) bool {
	if s == "" || len(s) > 63 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// applyCluster sets the cluster options on opts.
func (c *ClusterConfig) apply(opts *server.Options) error {
	if c.Name == "" || !validNode(c.Name) {
		return fmt.Errorf("cluster name %q must be 1 to 63 letters, digits, '-' or '_'", c.Name)
	}
	if c.Secret == "" {
		return ErrNoClusterSecret
	}
	host, port, err := splitListen(c.Listen)
	if err != nil {
		return fmt.Errorf("cluster listen: %w", err)
	}
	opts.Cluster = server.ClusterOpts{
		Name:        c.Name,
		Host:        host,
		Port:        port,
		Username:    routeUser,
		Password:    c.Secret,
		AuthTimeout: 5,
		Advertise:   c.Advertise,
		// Routes are retried for ever: a node that is down or not yet
		// started is joined when it comes.
		ConnectRetries: -1,
	}
	if c.TLS != nil {
		opts.Cluster.TLSConfig = c.TLS
		opts.Cluster.TLSTimeout = 5
	}
	for _, r := range c.Routes {
		u, err := RouteURL(r, c.Secret)
		if err != nil {
			return err
		}
		opts.Routes = append(opts.Routes, u)
	}
	return nil
}

// RouteURL turns a route address (host:port, or a nats-route:// or nats://
// URL) into the URL the server dials, carrying the cluster secret.
func RouteURL(addr, secret string) (*url.URL, error) {
	raw := strings.TrimSpace(addr)
	if !strings.Contains(raw, "://") {
		raw = "nats-route://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("route %q: %w", addr, err)
	}
	switch u.Scheme {
	case "nats-route", "nats", "tls":
	default:
		return nil, fmt.Errorf("route %q: scheme %q, want nats-route://host:port", addr, u.Scheme)
	}
	if u.User != nil {
		return nil, fmt.Errorf("route %q: give the secret with the cluster secret file, not in the route", redact(u))
	}
	if _, p, err := net.SplitHostPort(u.Host); err != nil || p == "" {
		return nil, fmt.Errorf("route %q: want host:port", addr)
	} else if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
		return nil, fmt.Errorf("route %q: bad port %q", addr, p)
	}
	u.User = url.UserPassword(routeUser, secret)
	return u, nil
}

func redact(u *url.URL) string {
	c := *u
	c.User = nil
	return c.String()
}

// IngestSubject is the subject this node's validators listen on:
// ingest.<dataset>.<actor>.<node>. The server rewrites what a client of
// this node publishes to ingest.<dataset>.<actor> into it, so every record
// is validated on the node its publisher is connected to (see ingestMapping).
func (s *Server) IngestSubject() string { return wire.IngestWildcard + "." + s.node }

// ingestMapping makes a record published on this node stay on this node:
// the server maps ingest.<dataset>.<actor> from its own clients to
// ingest.<dataset>.<actor>.<node>, which only this node's validators
// subscribe to. A queue group spanning the cluster would hand a publisher's
// records to any node, and two nodes storing one publisher's records at once
// could store them out of order; a client's connection lives on one node,
// so this keeps each publisher's records in one validator, in order.
func (s *Server) ingestMapping() error {
	src := wire.IngestWildcard
	dst := wire.IngestPrefix + ".{{wildcard(1)}}.{{wildcard(2)}}." + s.node
	if err := s.ns.GlobalAccount().AddMapping(src, dst); err != nil {
		return fmt.Errorf("map %s to %s: %w", src, dst, err)
	}
	return nil
}

// nodeSubject is the form of an actor's ingest subject the server checks its
// permission on, after the mapping: ingest.<dataset>.<actor>.<node>. Other
// subjects are returned as they are.
func (s *Server) nodeSubject(subj string) string {
	if strings.HasPrefix(subj, wire.IngestPrefix+".") && strings.Count(subj, ".") == 2 {
		return subj + "." + s.node
	}
	return subj
}

// RoutedNodes names the nodes this node has a live route to, sorted.
func (s *Server) RoutedNodes() []string {
	rz, err := s.ns.Routez(nil)
	if err != nil || rz == nil {
		return nil
	}
	seen := map[string]bool{}
	var out []string
	for _, r := range rz.Routes {
		if r.RemoteName != "" && !seen[r.RemoteName] {
			seen[r.RemoteName] = true
			out = append(out, r.RemoteName)
		}
	}
	sort.Strings(out)
	return out
}

// ClusterState is what this node knows of its cluster, for health checks.
type ClusterState struct {
	// Name is the cluster's name, Node this node's.
	Name string `json:"name"`
	Node string `json:"node"`
	// Leader is the node leading JetStream's meta group ("" = none: no
	// quorum, nothing can be created or changed).
	Leader string `json:"leader"`
	// Quorum reports whether JetStream has a leader this node is current
	// with: records can be stored.
	Quorum bool `json:"quorum"`
	// Size is the number of nodes JetStream knows of.
	Size int `json:"size"`
	// Peers are the other nodes as the meta group sees them.
	Peers []PeerState `json:"peers"`
	// Routed names the nodes this node has a live route to.
	Routed []string `json:"routed"`
}

// PeerState is one other node.
type PeerState struct {
	Name    string `json:"name"`
	Current bool   `json:"current"`
	Offline bool   `json:"offline,omitempty"`
	// Active is how long ago it was last heard from.
	Active string `json:"active"`
	// Lag is how many meta operations it is behind.
	Lag uint64 `json:"lag,omitempty"`
}

// Clustered reports whether the server runs as a node of a cluster.
func (s *Server) Clustered() bool { return s.clustered }

// Node is this node's name: the server name, unique in the cluster.
func (s *Server) Node() string { return s.node }

// Cluster reads the cluster's state as this node sees it. Outside a cluster
// it returns a state with Quorum true and no peers.
func (s *Server) Cluster() ClusterState {
	st := ClusterState{Node: s.node, Quorum: true, Size: 1, Leader: s.node}
	if !s.clustered {
		return st
	}
	st.Name = s.ns.ClusterName()
	st.Routed = s.RoutedNodes()
	st.Quorum, st.Leader, st.Size = false, "", 0
	jsz, err := s.ns.Jsz(&server.JSzOptions{LeaderOnly: false})
	if err != nil || jsz == nil || jsz.Meta == nil {
		return st
	}
	m := jsz.Meta
	st.Leader, st.Size = m.Leader, m.Size
	st.Quorum = m.Leader != "" && s.ns.JetStreamIsCurrent()
	for _, p := range m.Replicas {
		if p == nil || p.Name == s.node {
			continue
		}
		st.Peers = append(st.Peers, PeerState{Name: p.Name, Current: p.Current, Offline: p.Offline,
			Active: p.Active.Round(time.Millisecond).String(), Lag: p.Lag})
	}
	return st
}
