// Package cli is the `hub` command: `hub serve` runs a hub, and every other
// command administers a running hub through its HTTP API (never its storage),
// or works offline on files (`hub validate`).
package cli

import (
	"errors"
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
		if ue, ok := errors.AsType[*unreadableError](err); ok {
			root.PrintErrln("error:", ue)
			return 1 // a partial answer, not an operational failure
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
		damageCmd(),
		backupCmd(),
		restoreCmd(),
		tokenCmd(),
	} {
		root.AddCommand(c)
	}
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
