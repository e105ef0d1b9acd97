// Package cli is the `hub` command: `hub serve` runs a hub, and every other
// command administers a running hub through its HTTP API (never its storage),
// or works offline on files (`hub validate`).
package cli

import (
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/spf13/cobra"
)

// Main runs the hub command with args and returns the process exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	if err := root.Execute(); err != nil {
		if code, ok := err.(exitCode); ok {
			return int(code)
		}
		root.PrintErrln("error:", err)
		return 2
	}
	return 0
}

// exitCode ends a command with a code after it already printed why.
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "hub",
		Short:         "JobTech Data Hub: share labour-market datasets between actors",
		Long:          "hub runs a JobTech Data Hub node (hub serve) and administers a running one through its HTTP API.",
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
		datasetsCmd(),
		actorCmd(),
		policyCmd(),
		auditCmd(),
		statusCmd(),
		clusterCmd(),
	} {
		root.AddCommand(c)
	}
	return root
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
