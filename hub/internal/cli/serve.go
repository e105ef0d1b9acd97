package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/jobtech-dev/datahub/hub/internal/admintoken"
	"github.com/jobtech-dev/datahub/hub/internal/config"
	"github.com/jobtech-dev/datahub/hub/internal/node"
	"github.com/jobtech-dev/datahub/hub/internal/servertls"
)

func serveCmd() *cobra.Command {
	var file string
	cfg := config.Default()
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run a hub: embedded NATS with JetStream, validators and the HTTP API",
		Long: `serve starts a hub with the datasets declared under --schemas, keeps its data under
--data and serves actors on --nats-listen and admins on --http-listen. Flags override
the config file. It stops cleanly on SIGINT or SIGTERM.

At start the --policies folder becomes the whole policy state; when that replaces a set
applied since through the API or CLI, the start logs a WARN naming the policies dropped
and added, and audits it. --policies '' keeps the set last applied (production does:
files are then applied with 'hub policy apply'). A subscription whose actor loses its
subscribe right is paused and keeps its position for --subscription-grace.

With --tls-cert and --tls-key both listeners serve TLS only (tls:// and https://);
--tls-client-ca also requires every client to present a certificate from that CA
(mutual TLS: in addition to the actor's nkey, not instead of it). SIGHUP reloads the
certificate files: new connections get the new certificate, open ones stay.

With --cluster-listen, --routes and --cluster-secret-file the hub is a node of a cluster:
every node is a full hub (actors, validators, admin API), JetStream keeps each stream on
--replicas nodes (3 by default), and a node started on a single hub's data dir brings its
records into the cluster. See deploy/README.md.`,
		Example: `  hub serve --data data --schemas schemas --policies policies
  hub serve --config /etc/jobtech-hub/hub.yaml
  hub serve --data data --policies '' --nats-listen 0.0.0.0:4222 --tls-cert tls/hub.pem --tls-key tls/hub.key
  hub serve --config /etc/jobtech-hub/hub.yaml --node-name hub-1 --cluster-listen 0.0.0.0:6222 --routes hub-2:6222,hub-3:6222 --cluster-secret-file /etc/jobtech-hub/cluster.secret`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if file != "" {
				fromFile, err := config.Load(file)
				if err != nil {
					return err
				}
				// Flags the user set win over the file.
				flags := cfg
				cfg = fromFile
				cmd.Flags().Visit(func(f *pflag.Flag) { applyFlag(&cfg, flags, f.Name) })
			}
			log := newLogger(cmd.ErrOrStderr(), cfg.LogLevel, cfg.LogFormat)
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			// SIGHUP reloads certificates; caught from here on so an early
			// one does not end the process.
			hup := make(chan os.Signal, 1)
			signal.Notify(hup, syscall.SIGHUP)
			defer signal.Stop(hup)
			// A cluster node waits for a majority of the nodes however long
			// it takes (saying so every ten seconds); each step after that
			// has its own time limit. A single hub is ready in moments.
			startCtx, cancel := ctx, context.CancelFunc(func() {})
			if !cfg.Clustered() {
				startCtx, cancel = context.WithTimeout(ctx, 30*time.Second)
			}
			n, err := node.Start(startCtx, cfg, log)
			cancel()
			if err != nil {
				return err
			}
			go reloadOn(ctx, hup, n, log)
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "JobTech Data Hub %q is ready\n", cfg.Name)
			fmt.Fprintf(out, "  NATS:        %s\n", n.NATSURL())
			fmt.Fprintf(out, "  HTTP API:    %s  (health: %s/healthz)\n", n.HTTPURL(), n.HTTPURL())
			fmt.Fprintf(out, "  catalog:     %s/  (admin pages: %s/admin)\n", n.HTTPURL(), n.HTTPURL())
			if cfg.Schemas == "" {
				fmt.Fprintf(out, "  datasets:    %d as last applied (no schemas folder: hub dataset apply -f DIR changes them)\n", len(n.Registry().List()))
			} else {
				fmt.Fprintf(out, "  datasets:    %d from %s\n", len(n.Registry().List()), cfg.Schemas)
			}
			fmt.Fprintf(out, "  data:        %s  (admin token: %s)\n", cfg.Data, filepath.Join(cfg.Data, admintoken.FileName))
			if c := n.TLS(); c != nil {
				mutual := ""
				if c.Mutual() {
					mutual = "; clients need a certificate from " + cfg.TLSClientCA
				}
				fmt.Fprintf(out, "  TLS:         %s, valid until %s%s (SIGHUP reloads)\n", cfg.TLSCert, c.Leaf().NotAfter.UTC().Format(time.DateOnly), mutual)
			}
			if u := n.MetricsURL(); u != "" {
				fmt.Fprintf(out, "  metrics:     %s/metrics\n", u)
			}
			fmt.Fprintf(out, "  audit:       anchors to %s  (anchor key: %s)\n", cfg.AnchorFilePath(), cfg.AnchorKeyPath())
			if cfg.Clustered() {
				st := n.Cluster()
				fmt.Fprintf(out, "  cluster:     %s, node %s, routes to %s, JetStream leader %s (hub status --hub-url %s)\n",
					st.Name, st.Node, strings.Join(st.Routed, ", "), st.Leader, n.HTTPURL())
			}
			fmt.Fprintf(out, "Stop with Ctrl-C.\n")
			<-ctx.Done()
			log.Info("shutting down")
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second) // ctx has ended: the stop gets a bound of its own
			defer cancel()
			if err := n.Shutdown(sctx); err != nil {
				return fmt.Errorf("shutdown: %w", err)
			}
			log.Info("stopped")
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&file, "config", "c", "", "YAML config file (keys as in the README); flags override it")
	f.StringVar(&cfg.Name, "name", cfg.Name, "hub name, stamped as origin into every record")
	f.StringVar(&cfg.Data, "data", cfg.Data, "data dir (JetStream files, admin token)")
	f.StringVar(&cfg.NATSListen, "nats-listen", cfg.NATSListen, "NATS address for actors, host:port")
	f.StringVar(&cfg.HTTPListen, "http-listen", cfg.HTTPListen, "HTTP address for the API, host:port")
	f.StringVar(&cfg.Schemas, "schemas", cfg.Schemas, "folder of dataset declarations, applied at every start ('' keeps the datasets last applied)")
	f.StringVar(&cfg.Policies, "policies", cfg.Policies, "folder of sharing policies")
	f.IntVar(&cfg.MaxRecordBytes, "max-record-bytes", cfg.MaxRecordBytes, "largest record accepted, bytes")
	f.IntVar(&cfg.MaxDepth, "max-depth", cfg.MaxDepth, "deepest nesting of objects/arrays accepted")
	f.IntVar(&cfg.MaxBatch, "max-batch", cfg.MaxBatch, "most records in one API batch")
	f.IntVar(&cfg.Workers, "workers", cfg.Workers, "validators in parallel (0 = one per core)")
	f.StringVar(&cfg.LogLevel, "log-level", cfg.LogLevel, "debug, info, warn or error")
	f.StringVar(&cfg.LogFormat, "log-format", cfg.LogFormat, "text or json (one JSON object per line, for journald and log shippers)")
	f.DurationVar(&cfg.SubscriptionGrace, "subscription-grace", cfg.SubscriptionGrace, "how long a subscription whose actor lost the right keeps its position (0 = removed at once)")
	f.StringVar(&cfg.TLSCert, "tls-cert", cfg.TLSCert, "PEM certificate: NATS and HTTP serve TLS only (with --tls-key)")
	f.StringVar(&cfg.TLSKey, "tls-key", cfg.TLSKey, "PEM private key of --tls-cert")
	f.StringVar(&cfg.TLSClientCA, "tls-client-ca", cfg.TLSClientCA, "PEM CA file: clients must present a certificate it signed (mutual TLS)")
	f.StringVar(&cfg.AuditAnchorKey, "audit-anchor-key", cfg.AuditAnchorKey, "key signing the audit anchors, created if missing, outside the data dir (default <data>-audit/anchor.nk)")
	f.StringVar(&cfg.AuditAnchorFile, "audit-anchor-file", cfg.AuditAnchorFile, "file the audit anchors are appended to, outside the data dir (default <data>-audit/anchors.ndjson)")
	f.DurationVar(&cfg.AuditAnchorInterval, "audit-anchor-interval", cfg.AuditAnchorInterval, "how often the audit chain's head is anchored while it moves")
	f.DurationVar(&cfg.AuditMaxAge, "audit-max-age", cfg.AuditMaxAge, "audit retention: older entries removed under a signed checkpoint (0 = keep all)")
	f.IntVar(&cfg.HTTPMaxConnsPerIP, "http-max-conns-per-ip", cfg.HTTPMaxConnsPerIP, "open HTTP connections per client address (-1 = no cap)")
	f.IntVar(&cfg.HTTPMaxConns, "http-max-conns", cfg.HTTPMaxConns, "open HTTP connections in all (0 = from the file descriptor limit, -1 = no cap)")
	f.IntVar(&cfg.NATSMaxConns, "nats-max-conns", cfg.NATSMaxConns, "NATS connections in all (0 = from the file descriptor limit, -1 = no cap)")
	f.IntVar(&cfg.MaxConnsPerActor, "max-conns-per-actor", cfg.MaxConnsPerActor, "NATS connections per actor (-1 = no cap)")
	f.StringVar(&cfg.MetricsListen, "metrics-listen", cfg.MetricsListen, "serve Prometheus /metrics on this host:port without the admin token (also at /api/v1/metrics with it)")
	clusterFlags(f, &cfg)
	for _, dir := range []string{"data", "schemas", "policies"} {
		_ = cmd.MarkFlagDirname(dir)
	}
	return cmd
}

// reloadOn reloads the TLS certificates each time hup receives (SIGHUP),
// until ctx ends. A failed reload keeps the certificates in force.
func reloadOn(ctx context.Context, hup <-chan os.Signal, n *node.Node, log *slog.Logger) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			// A failed reload is logged by servertls; the old certificate
			// serves on.
			if err := n.ReloadTLS(); errors.Is(err, servertls.ErrNotConfigured) {
				log.Info("SIGHUP: " + err.Error())
			}
		}
	}
}

// applyFlag copies the setting behind flag name from src to dst.
func applyFlag(dst *config.Config, src config.Config, name string) {
	if applyClusterFlag(dst, src, name) {
		return
	}
	switch name {
	case "name":
		dst.Name = src.Name
	case "data":
		dst.Data = src.Data
	case "nats-listen":
		dst.NATSListen = src.NATSListen
	case "http-listen":
		dst.HTTPListen = src.HTTPListen
	case "schemas":
		dst.Schemas = src.Schemas
	case "policies":
		dst.Policies = src.Policies
	case "max-record-bytes":
		dst.MaxRecordBytes = src.MaxRecordBytes
	case "max-depth":
		dst.MaxDepth = src.MaxDepth
	case "max-batch":
		dst.MaxBatch = src.MaxBatch
	case "workers":
		dst.Workers = src.Workers
	case "log-level":
		dst.LogLevel = src.LogLevel
	case "log-format":
		dst.LogFormat = src.LogFormat
	case "subscription-grace":
		dst.SubscriptionGrace = src.SubscriptionGrace
	case "tls-cert":
		dst.TLSCert = src.TLSCert
	case "tls-key":
		dst.TLSKey = src.TLSKey
	case "tls-client-ca":
		dst.TLSClientCA = src.TLSClientCA
	case "audit-anchor-key":
		dst.AuditAnchorKey = src.AuditAnchorKey
	case "audit-anchor-file":
		dst.AuditAnchorFile = src.AuditAnchorFile
	case "audit-anchor-interval":
		dst.AuditAnchorInterval = src.AuditAnchorInterval
	case "audit-max-age":
		dst.AuditMaxAge = src.AuditMaxAge
	case "http-max-conns-per-ip":
		dst.HTTPMaxConnsPerIP = src.HTTPMaxConnsPerIP
	case "http-max-conns":
		dst.HTTPMaxConns = src.HTTPMaxConns
	case "nats-max-conns":
		dst.NATSMaxConns = src.NATSMaxConns
	case "max-conns-per-actor":
		dst.MaxConnsPerActor = src.MaxConnsPerActor
	case "metrics-listen":
		dst.MetricsListen = src.MetricsListen
	}
}
