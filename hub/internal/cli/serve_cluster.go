package cli

import (
	"github.com/spf13/pflag"

	"github.com/jobtech-dev/datahub/hub/internal/config"
)

// clusterFlags adds the flags of a cluster node to `hub serve`.
func clusterFlags(f *pflag.FlagSet, cfg *config.Config) {
	f.StringVar(&cfg.NodeName, "node-name", cfg.NodeName, "this node's name, unique in the cluster (default: the hub's name alone, the host name's first label in a cluster)")
	f.StringVar(&cfg.NATSAdvertise, "nats-advertise", cfg.NATSAdvertise, "client address (host:port) this node gives clients and the other nodes, when --nats-listen is not how they reach it")
	f.StringVar(&cfg.ClusterName, "cluster-name", cfg.ClusterName, "the cluster's name, the same on every node (default: --name)")
	f.StringVar(&cfg.ClusterListen, "cluster-listen", cfg.ClusterListen, "route address (host:port) the other nodes connect to; makes this hub a cluster node")
	f.StringVar(&cfg.ClusterAdvertise, "cluster-advertise", cfg.ClusterAdvertise, "route address (host:port) the other nodes reach this node at, when --cluster-listen is not")
	f.StringSliceVar(&cfg.Routes, "routes", cfg.Routes, "the other nodes' route addresses, host:port,host:port (a node may list itself)")
	f.StringVar(&cfg.ClusterSecretFile, "cluster-secret-file", cfg.ClusterSecretFile, "file holding the secret every route presents (the same on every node, mode 0600)")
	f.StringVar(&cfg.ClusterTLSCert, "cluster-tls-cert", cfg.ClusterTLSCert, "PEM certificate of this node for mutual TLS on the routes (serverAuth and clientAuth)")
	f.StringVar(&cfg.ClusterTLSKey, "cluster-tls-key", cfg.ClusterTLSKey, "PEM private key of --cluster-tls-cert")
	f.StringVar(&cfg.ClusterTLSCA, "cluster-tls-ca", cfg.ClusterTLSCA, "PEM CA that signed every node's route certificate")
	f.StringVar(&cfg.AdminTokenFile, "admin-token-file", cfg.AdminTokenFile, "file holding the admin API token (mode 0600; give every node of a cluster the same) instead of <data>/admin.token")
	f.IntVar(&cfg.Replicas, "replicas", cfg.Replicas, "copies of each stream and of the hub's state (0 = 3 in a cluster, 1 alone; a dataset's replicas: wins)")
}

// applyClusterFlag copies the cluster setting behind flag name from src to
// dst; it reports whether name is one.
func applyClusterFlag(dst *config.Config, src config.Config, name string) bool {
	switch name {
	case "node-name":
		dst.NodeName = src.NodeName
	case "nats-advertise":
		dst.NATSAdvertise = src.NATSAdvertise
	case "cluster-name":
		dst.ClusterName = src.ClusterName
	case "cluster-listen":
		dst.ClusterListen = src.ClusterListen
	case "cluster-advertise":
		dst.ClusterAdvertise = src.ClusterAdvertise
	case "routes":
		dst.Routes = src.Routes
	case "cluster-secret-file":
		dst.ClusterSecretFile = src.ClusterSecretFile
	case "cluster-tls-cert":
		dst.ClusterTLSCert = src.ClusterTLSCert
	case "cluster-tls-key":
		dst.ClusterTLSKey = src.ClusterTLSKey
	case "cluster-tls-ca":
		dst.ClusterTLSCA = src.ClusterTLSCA
	case "admin-token-file":
		dst.AdminTokenFile = src.AdminTokenFile
	case "replicas":
		dst.Replicas = src.Replicas
	default:
		return false
	}
	return true
}
