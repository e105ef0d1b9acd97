package config

import (
	"fmt"
	"net"
	"os"
	"strings"
)

// Cluster are the settings of a hub node that joins other hub nodes as one
// NATS cluster with replicated JetStream. A hub is a cluster node when
// ClusterListen is set.
type Cluster struct {
	// NodeName names this node, unique in the cluster (the NATS server
	// name). Empty: the hub's name outside a cluster, the first label of the
	// host name in one (a Kubernetes pod's name, a compose service's).
	NodeName string `yaml:"node_name"`
	// NATSAdvertise is the client address (host:port) this node gives
	// clients and the other nodes, when nats_listen is not how clients reach
	// it (a wildcard, a container's address).
	NATSAdvertise string `yaml:"nats_advertise"`
	// ClusterName names the cluster; every node gives the same. Empty: the
	// hub's name.
	ClusterName string `yaml:"cluster_name"`
	// ClusterListen is where this node accepts routes from the others
	// (host:port). Setting it makes the hub a cluster node.
	ClusterListen string `yaml:"cluster_listen"`
	// ClusterAdvertise is the host:port the other nodes reach this node's
	// routes at, when cluster_listen is not.
	ClusterAdvertise string `yaml:"cluster_advertise"`
	// Routes are the other nodes' route addresses (host:port); a node may
	// list itself. The same list can be given to every node.
	Routes []string `yaml:"routes"`
	// ClusterSecretFile holds the secret every route must present (mode
	// 0600; every node has the same). Required in a cluster.
	ClusterSecretFile string `yaml:"cluster_secret_file"`
	// ClusterTLSCert, ClusterTLSKey and ClusterTLSCA, all or none, make the
	// routes mutual TLS: the node's certificate (valid for server and
	// client authentication) and the CA that signed every node's.
	ClusterTLSCert string `yaml:"cluster_tls_cert"`
	ClusterTLSKey  string `yaml:"cluster_tls_key"`
	ClusterTLSCA   string `yaml:"cluster_tls_ca"`
	// AdminTokenFile, when set, holds the admin API's token (mode 0600)
	// instead of admin.token in the data dir: the nodes of a cluster are
	// given the same one, so an admin's call works on any node.
	AdminTokenFile string `yaml:"admin_token_file"`
	// Replicas is how many nodes keep a copy of each stream and of the
	// hub's state (actors, policies, audit log): 0 means 3 in a cluster (as
	// soon as three nodes have joined) and 1 on a single hub. A dataset's
	// own `replicas:` wins for its stream.
	Replicas int `yaml:"replicas"`
}

// Clustered reports whether the hub runs as a node of a cluster.
func (c Config) Clustered() bool { return c.ClusterListen != "" }

// Node is this node's name (see NodeName).
func (c Config) Node() string {
	if c.NodeName != "" {
		return c.NodeName
	}
	if !c.Clustered() {
		return c.Name
	}
	h, err := os.Hostname()
	if err != nil || h == "" {
		return c.Name
	}
	h, _, _ = strings.Cut(h, ".")
	return h
}

// ClusterNameOrDefault is the cluster's name (see ClusterName).
func (c Config) ClusterNameOrDefault() string {
	if c.ClusterName != "" {
		return c.ClusterName
	}
	return c.Name
}

// DefaultReplicas is the number of copies of a stream when neither the
// config nor a dataset says: 3 in a cluster, 1 on a single hub.
func (c Config) DefaultReplicas() int {
	if c.Replicas > 0 {
		return c.Replicas
	}
	if c.Clustered() {
		return 3
	}
	return 1
}

// MaxReplicas is the most copies JetStream keeps of a stream.
const MaxReplicas = 5

// validToken matches a node or cluster name: one NATS subject token.
func validToken(s string) bool {
	if s == "" || len(s) > 63 {
		return false
	}
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '-' || ch == '_') {
			return false
		}
	}
	return true
}

func (c Config) validateCluster() []error {
	var errs []error
	bad := func(key, format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, a...)))
	}
	if n := c.Node(); !validToken(n) {
		bad("node_name", "%q must be 1 to 63 letters, digits, '-' or '_' (a host name's first label is used when none is given)", n)
	}
	if c.Replicas < 0 || c.Replicas > MaxReplicas {
		bad("replicas", "%d must be between 0 (the default: 3 in a cluster, 1 alone) and %d", c.Replicas, MaxReplicas)
	}
	if c.NATSAdvertise != "" {
		if _, _, err := net.SplitHostPort(c.NATSAdvertise); err != nil {
			bad("nats_advertise", "%q is not host:port: %v", c.NATSAdvertise, err)
		}
	}
	tlsSet := 0
	for _, v := range []string{c.ClusterTLSCert, c.ClusterTLSKey, c.ClusterTLSCA} {
		if v != "" {
			tlsSet++
		}
	}
	if !c.Clustered() {
		for key, v := range map[string]bool{"routes": len(c.Routes) > 0, "cluster_secret_file": c.ClusterSecretFile != "",
			"cluster_advertise": c.ClusterAdvertise != "", "cluster_tls_cert, cluster_tls_key, cluster_tls_ca": tlsSet > 0, "cluster_name": c.ClusterName != ""} {
			if v {
				bad(key, "is a cluster setting: give cluster_listen too (this node's route address)")
			}
		}
		if c.Replicas > 1 {
			bad("replicas", "%d copies need a cluster: give cluster_listen and routes", c.Replicas)
		}
		return errs
	}
	if !validToken(c.ClusterNameOrDefault()) {
		bad("cluster_name", "%q must be 1 to 63 letters, digits, '-' or '_'", c.ClusterNameOrDefault())
	}
	if _, _, err := net.SplitHostPort(c.ClusterListen); err != nil {
		bad("cluster_listen", "%q is not host:port: %v", c.ClusterListen, err)
	}
	if c.ClusterAdvertise != "" {
		if _, _, err := net.SplitHostPort(c.ClusterAdvertise); err != nil {
			bad("cluster_advertise", "%q is not host:port: %v", c.ClusterAdvertise, err)
		}
	}
	if len(c.Routes) == 0 {
		bad("routes", "a cluster node needs the other nodes' route addresses (host:port, comma-separated)")
	}
	for i, r := range c.Routes {
		addr := r
		if _, rest, ok := strings.Cut(r, "://"); ok {
			addr = rest
		}
		if _, _, err := net.SplitHostPort(addr); err != nil || strings.Contains(addr, "@") {
			bad(fmt.Sprintf("routes[%d]", i), "%q is not host:port (the secret goes in cluster_secret_file)", r)
		}
	}
	if c.ClusterSecretFile == "" {
		bad("cluster_secret_file", "a cluster node needs the file holding the cluster's secret (the same on every node): without one anyone who reaches the route port joins and reads every record; make one with `openssl rand -hex 32 > cluster.secret; chmod 600 cluster.secret`")
	}
	if tlsSet != 0 && tlsSet != 3 {
		bad("cluster_tls_cert, cluster_tls_key, cluster_tls_ca", "give all three or none (got cert %q, key %q, ca %q)", c.ClusterTLSCert, c.ClusterTLSKey, c.ClusterTLSCA)
	}
	return errs
}
