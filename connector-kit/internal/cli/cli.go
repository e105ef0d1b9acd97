// Package cli is the `connector` command: `connector run` runs the sidecar
// beside an actor's systems; `connector import` bulk-publishes a file and
// `connector tail` prints a dataset's records as they arrive.
//
// It follows the same manner as the hub command (package clirun): --version,
// an Examples section in every help, one exit-status table, and shell
// completion of the hub's dataset names.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/jobtech-dev/datahub/connector-kit/builtin"
	"github.com/jobtech-dev/datahub/connector-kit/internal/sidecar"
	"github.com/jobtech-dev/datahub/connector-kit/kit"
	"github.com/jobtech-dev/datahub/internal/buildinfo"
	"github.com/jobtech-dev/datahub/internal/clirun"
)

// rootLong is the root's help: what connector does, the exit statuses, and
// how to turn shell completion on.
const rootLong = `connector shares datasets through a JobTech Data Hub from any system: 'connector run'
runs the sidecar (a local HTTP API, a durable outbox, inputs and outputs), 'connector
import' bulk-publishes files and 'connector tail' prints a dataset's records as they
arrive. Relative paths in connector.yaml are relative to the file's folder.

` + clirun.ExitHelp + `

Shell completion (commands, flags, and the hub's dataset names once --credentials is on
the command line):
  source <(connector completion bash)  # this shell; see 'connector completion bash --help'
  connector completion zsh > "${fpath[1]}/_connector"`

// Main runs the connector command and returns the exit status (see package
// clirun).
func Main(args []string, stdout, stderr io.Writer) int {
	return clirun.Execute(newRoot(stdout, stderr), args)
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "connector",
		Short: "JobTech Data Hub connector: share datasets through a hub from any system",
		Long:  rootLong,
		Example: `  connector run -c connector.yaml
  connector import --dataset jobads --credentials jobbland.nk testdata/jobtech/job-ads.ndjson
  connector tail jobads --credentials matchwise.nk
  connector --version`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(runCmd(), importCmd(), tailCmd(), pluginsCmd(), outboxCmd(), loginCmd())
	clirun.Version(root, "connector", buildinfo.Read().String())
	clirun.InitHelpAndCompletion(root, "connector")
	return root
}

// exitCode ends a command with code after it already printed why.
func exitCode(code int) error { return clirun.Silent(code) }

// refusal gives a kit error its exit status: a refusal by the hub or its
// policies (forbidden, a revoked or unknown key, a conflict) is 1, an
// unknown dataset a usage error; anything else (the hub unreachable, TLS)
// stays an operational error.
func refusal(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, kit.ErrForbidden), errors.Is(err, kit.ErrConflict):
		return clirun.Refusal(err)
	case errors.Is(err, kit.ErrUnknownDataset):
		return clirun.Usage(err)
	}
	return err
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}

func runCmd() *cobra.Command {
	var file string
	cfg := sidecar.DefaultConfig()
	cmd := &cobra.Command{
		Use:   "run [-c connector.yaml | --hub URL --credentials FILE --listen HOST:PORT --outbox DIR]",
		Short: "Run the connector sidecar: local HTTP API, outbox, inputs and outputs",
		Long: `run starts the sidecar. Applications POST records to its local HTTP API and read datasets
from it; configured inputs feed the hub and outputs deliver subscriptions to webhooks or
files. Records are kept in a durable outbox until the hub stored them. Flags override the
config file. Relative paths in the file (credentials, CA and client certificate, outbox,
state, and plugin paths such as an ndjson_file's path) are relative to the file's folder;
relative paths in flags to the working directory. It stops cleanly on SIGINT or SIGTERM;
queued records stay in the outbox.

A POST is answered once its records are fsynced in the outbox: "201 stored" when the hub
stored them within ack_timeout (connector.yaml, default 3s), else "202 queued". A request
with the header "Prefer: respond-async" (or ack_timeout: 0 for all) is answered "202 queued"
as soon as its records are fsynced, without waiting for the hub.

The local API has no authentication of its own unless an API token is set
(--api-token-file, --api-token or api_token in connector.yaml): then every request but
/healthz needs "Authorization: Bearer <token>". A --listen address other than loopback
(127.0.0.1, ::1, localhost) requires one: run refuses to start without it.`,
		Example: `  connector run -c connector.yaml
  connector run --config /etc/jobtech-connector/connector.yaml
  connector run --hub nats://127.0.0.1:4222 --credentials jobbland.nk --listen 127.0.0.1:8181 --outbox jobbland-outbox`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if file != "" {
				fromFile, err := sidecar.ReadConfig(file)
				if err != nil {
					return err
				}
				flags := cfg
				cfg = fromFile
				cmd.Flags().Visit(func(f *pflag.Flag) { applyRunFlag(&cfg, flags, f.Name) })
			}
			env, err := builtin.Environment()
			if err != nil {
				return err
			}
			log := newLogger(cmd.ErrOrStderr(), cfg.LogLevel)
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			startCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
			sc, err := sidecar.Start(startCtx, cfg, env, log)
			cancel()
			if err != nil {
				return refusal(err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "connector for actor %q is ready\n  local API:  %s\n  hub:        %s\n  outbox:     %s\n", sc.Client().Actor(), sc.URL(), sc.Client().URL(), cfg.Outbox)
			<-ctx.Done()
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second) // ctx has ended: the stop gets a bound of its own
			defer cancel()
			return sc.Shutdown(sctx)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&file, "config", "c", "", "connector.yaml (see the README)")
	f.StringVar(&cfg.Hub.URL, "hub", cfg.Hub.URL, hubFlagHelp)
	f.StringVar(&cfg.Hub.Credentials, "credentials", cfg.Hub.Credentials, "the actor's credentials file")
	f.StringVar(&cfg.Hub.CA, "ca", cfg.Hub.CA, caFlagHelp)
	f.StringVar(&cfg.Hub.ClientCert, "client-cert", cfg.Hub.ClientCert, "PEM client certificate for a hub that requires one (mutual TLS)")
	f.StringVar(&cfg.Hub.ClientKey, "client-key", cfg.Hub.ClientKey, "PEM key of --client-cert")
	f.StringVar(&cfg.Listen, "listen", cfg.Listen, "local HTTP API address (not loopback: needs an API token)")
	f.StringVar(&cfg.APIToken, "api-token", "", "token the local API requires (visible in the process list: prefer --api-token-file)")
	f.StringVar(&cfg.APITokenFile, "api-token-file", "", "file holding the token the local API requires")
	f.StringVar(&cfg.Outbox, "outbox", cfg.Outbox, "outbox folder")
	f.StringVar(&cfg.State, "state", cfg.State, "folder for plugin state and dead-letter files")
	f.StringVar(&cfg.LogLevel, "log-level", cfg.LogLevel, "debug, info, warn or error")
	_ = cmd.MarkFlagFilename("config", "yaml", "yml")
	_ = cmd.MarkFlagDirname("outbox")
	_ = cmd.MarkFlagDirname("state")
	_ = cmd.RegisterFlagCompletionFunc("log-level", cobra.FixedCompletions([]string{"debug", "info", "warn", "error"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func applyRunFlag(dst *sidecar.Config, src sidecar.Config, name string) {
	switch name {
	case "hub":
		dst.Hub.URL = src.Hub.URL
	case "credentials":
		dst.Hub.Credentials = src.Hub.Credentials
	case "ca":
		dst.Hub.CA = src.Hub.CA
	case "client-cert":
		dst.Hub.ClientCert = src.Hub.ClientCert
	case "client-key":
		dst.Hub.ClientKey = src.Hub.ClientKey
	case "listen":
		dst.Listen = src.Listen
	case "outbox":
		dst.Outbox = src.Outbox
	case "state":
		dst.State = src.State
	case "log-level":
		dst.LogLevel = src.LogLevel
	case "api-token":
		dst.APIToken, dst.APITokenFile = src.APIToken, ""
	case "api-token-file":
		dst.APITokenFile, dst.APIToken = src.APITokenFile, ""
	}
}
