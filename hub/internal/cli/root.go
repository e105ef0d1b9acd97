// Package cli is the `hub` command: `hub serve` runs a hub, and every other
// command administers a running hub through its HTTP API (never its storage),
// or works offline on files (`hub validate`).
//
// Every command follows one manner, shared with the connector command:
// --version on the root, -o table|json on listings (json is the API's own
// answer, encoded as it is), an Examples section in every help, the exit
// statuses of package clirun, and shell completion of dataset and actor
// names asked of the running hub.
package cli

import (
	"io"
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"github.com/jobtech-dev/datahub/internal/buildinfo"
	"github.com/jobtech-dev/datahub/internal/clirun"
)

// Main runs the hub command with args and returns the process exit status
// (see package clirun).
func Main(args []string, stdout, stderr io.Writer) int {
	return clirun.Execute(newRoot(stdout, stderr), args)
}

// exitCode ends a command with code after it already printed why.
func exitCode(code int) error { return clirun.Silent(code) }

// rootLong is the root's help: what hub does, the exit statuses, and how to
// turn shell completion on.
const rootLong = `hub runs a JobTech Data Hub node (hub serve) and administers a running one through
its HTTP API (--hub-url, default http://127.0.0.1:8080; the admin token is read from
the data dir or HUB_TOKEN). Listings print a table; -o json prints the API's own answer.

` + clirun.ExitHelp + `

Shell completion (commands, flags, and the hub's dataset and actor names):
  source <(hub completion bash)        # this shell; see 'hub completion bash --help'
  hub completion zsh > "${fpath[1]}/_hub"`

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "hub",
		Short: "JobTech Data Hub: share labour-market datasets between actors",
		Long:  rootLong,
		Example: `  hub serve --data data --schemas schemas --policies policies
  hub datasets
  hub publish --dataset jobads testdata/jobtech/job-ads.ndjson
  hub policy check --actor jobbland --action publish --dataset jobads
  hub --version`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	for _, c := range []*cobra.Command{
		serveCmd(),
		validateCmd(),
		publishCmd(),
		readCmd(),
		deadLettersCmd(),
		datasetListCmd("datasets"),
		datasetCmd(),
		schemaCmd(),
		asyncAPICmd(),
		keyCmd(),
		actorCmd(),
		peerCmd(),
		policyCmd(),
		auditCmd(),
		statusCmd(),
		clusterCmd(),
		damageCmd(),
		backupCmd(),
		restoreCmd(),
		tokenCmd(),
		serviceCmd(),
	} {
		root.AddCommand(c)
	}
	clirun.Version(root, "hub", buildinfo.Read().String())
	clirun.InitHelpAndCompletion(root, "hub")
	return root
}

// newLogger logs at level to w, as key=value text or, with format "json",
// one JSON object per line.
func newLogger(w io.Writer, level, format string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	opts := &slog.HandlerOptions{Level: l}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
