package cli

import (
	"context"
	"fmt"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/jobtech-dev/datahub/hub/internal/admintoken"
	"github.com/jobtech-dev/datahub/hub/internal/config"
	"github.com/jobtech-dev/datahub/hub/internal/node"
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
subscribe right is paused and keeps its position for --subscription-grace.`,
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
			startCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
			n, err := node.Start(startCtx, cfg, log)
			cancel()
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "JobTech Data Hub %q is ready\n", cfg.Name)
			fmt.Fprintf(out, "  NATS:        %s\n", n.NATSURL())
			fmt.Fprintf(out, "  HTTP API:    %s  (health: %s/healthz)\n", n.HTTPURL(), n.HTTPURL())
			fmt.Fprintf(out, "  datasets:    %d from %s\n", len(n.Registry().List()), cfg.Schemas)
			fmt.Fprintf(out, "  data:        %s  (admin token: %s)\n", cfg.Data, filepath.Join(cfg.Data, admintoken.FileName))
			fmt.Fprintf(out, "Stop with Ctrl-C.\n")
			<-ctx.Done()
			log.Info("shutting down")
			sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
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
	f.StringVar(&cfg.Schemas, "schemas", cfg.Schemas, "folder of dataset declarations")
	f.StringVar(&cfg.Policies, "policies", cfg.Policies, "folder of sharing policies")
	f.IntVar(&cfg.MaxRecordBytes, "max-record-bytes", cfg.MaxRecordBytes, "largest record accepted, bytes")
	f.IntVar(&cfg.MaxDepth, "max-depth", cfg.MaxDepth, "deepest nesting of objects/arrays accepted")
	f.IntVar(&cfg.MaxBatch, "max-batch", cfg.MaxBatch, "most records in one API batch")
	f.IntVar(&cfg.Workers, "workers", cfg.Workers, "validators in parallel (0 = one per core)")
	f.StringVar(&cfg.LogLevel, "log-level", cfg.LogLevel, "debug, info, warn or error")
	f.StringVar(&cfg.LogFormat, "log-format", cfg.LogFormat, "text or json (one JSON object per line, for journald and log shippers)")
	f.DurationVar(&cfg.SubscriptionGrace, "subscription-grace", cfg.SubscriptionGrace, "how long a subscription whose actor lost the right keeps its position (0 = removed at once)")
	return cmd
}

// applyFlag copies the setting behind flag name from src to dst.
func applyFlag(dst *config.Config, src config.Config, name string) {
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
	}
}
