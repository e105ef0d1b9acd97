// Package clirun runs the hub's and the connector's command trees one way,
// so the two binaries behave as one: the same exit statuses, usage errors
// that point to the command's help, command groups that refuse an unknown
// subcommand, and help and completion commands with examples. The exit
// statuses let a script tell "the answer is no" from "the command could
// not run":
//
//	0  done: every record stored, the policy allows, the log verifies
//	1  refused: a record rejected or not stored, a policy denies, a file
//	   that does not validate, the hub refused the request (forbidden,
//	   wrong token, conflict), an audit log that does not verify
//	2  not done: a usage error (unknown command or flag, a missing or bad
//	   argument, an unknown dataset, actor or action), a file that cannot
//	   be read, a bad config, the hub unreachable or unavailable, TLS
package clirun

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/spf13/cobra"

	"github.com/jobtech-dev/datahub/internal/problem"
)

// The exit statuses.
const (
	// OK: the command did what it was asked.
	OK = 0
	// Refused: the command ran and the answer is no.
	Refused = 1
	// Failed: the command could not run, or not to the end.
	Failed = 2
)

// ExitHelp is the exit-status table as the roots' long help and the README
// show it.
const ExitHelp = `Exit status:
  0  done: every record stored, the policy allows, the log verifies
  1  refused: a record rejected, a policy denies, a file that does not validate,
     the hub or the sharing policies refused the request (forbidden, wrong token,
     conflict), an audit log that does not verify
  2  not done: a usage error (unknown command or flag, a missing or bad argument,
     an unknown dataset, actor or action), a file that cannot be read, a bad
     config, the hub unreachable or unavailable, a TLS failure`

// Error ends a command with Code. With a nil Err the command already
// printed why; otherwise Err is printed.
type Error struct {
	Code  int
	Err   error
	usage bool
}

// Error returns the message of the wrapped error.
func (e *Error) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

// Unwrap returns the wrapped error.
func (e *Error) Unwrap() error { return e.Err }

// Refusal marks err as a refusal: exit status 1.
func Refusal(err error) error { return &Error{Code: Refused, Err: err} }

// Usage marks err as a usage error: exit status 2, printed with a pointer to
// the command's help.
func Usage(err error) error { return &Error{Code: Failed, Err: err, usage: true} }

// Usagef is Usage of a formatted error.
func Usagef(format string, a ...any) error { return Usage(fmt.Errorf(format, a...)) }

// Silent ends a command with code after it printed why.
func Silent(code int) error { return &Error{Code: code} }

// Of is the exit status for err: the code an *Error carries; for an
// answer of the hub or a sidecar (a *problem.Problem), ForStatus of its
// HTTP status; Failed for anything else.
func Of(err error) int {
	if err == nil {
		return OK
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	var p *problem.Problem
	if errors.As(err, &p) {
		return ForStatus(p.Status)
	}
	return Failed
}

// ForStatus is the exit status for an HTTP error answer: a refusal (401,
// 403, 409, 410, 413, 422) is Refused; a request naming something that does not
// exist (404) or that the server could not understand (400, 405, 415) is a
// usage error, and a server that could not do it (429, 5xx) an operational
// one: both Failed.
func ForStatus(status int) int {
	switch status {
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusConflict, http.StatusGone,
		http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity:
		return Refused
	}
	return Failed
}

// Execute runs root with args and returns the exit status. Errors are
// printed on root's error writer as "error: …"; an error found before a
// command ran (flags, arguments, unknown commands) or marked with Usage is
// followed by a pointer to the command's help.
func Execute(root *cobra.Command, args []string) int {
	started := false
	var wrap func(*cobra.Command)
	wrap = func(c *cobra.Command) {
		if run := c.RunE; run != nil {
			c.RunE = func(cmd *cobra.Command, args []string) error {
				started = true
				return run(cmd, args)
			}
		}
		for _, sub := range c.Commands() {
			wrap(sub)
		}
	}
	wrap(root)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return Usage(err) })
	root.SetArgs(args)
	cmd, err := root.ExecuteC()
	if err == nil {
		return OK
	}
	var e *Error
	isErr := errors.As(err, &e)
	if isErr && e.Err == nil {
		return e.Code
	}
	w := root.ErrOrStderr()
	fmt.Fprintln(w, "error:", strings.TrimRight(err.Error(), "\n"))
	if cmd != nil && (!started || (isErr && e.usage)) {
		fmt.Fprintf(w, "Run '%s --help' for usage and examples.\n", cmd.CommandPath())
	}
	return Of(err)
}

// Group makes cmd, a command that only holds subcommands, refuse an
// unknown subcommand as a usage error (cobra would print the help and exit
// 0) and print its help when given none.
func Group(cmd *cobra.Command) *cobra.Command {
	cmd.Args = cobra.ArbitraryArgs
	cmd.RunE = func(c *cobra.Command, args []string) error {
		if len(args) == 0 {
			return c.Help()
		}
		msg := fmt.Sprintf("unknown command %q for %q", args[0], c.CommandPath())
		if c.SuggestionsMinimumDistance <= 0 {
			c.SuggestionsMinimumDistance = 2
		}
		if s := c.SuggestionsFor(args[0]); len(s) > 0 {
			msg += "\n\nDid you mean this?\n\t" + strings.Join(s, "\n\t")
		}
		return Usage(errors.New(msg))
	}
	return cmd
}

// InitHelpAndCompletion adds cobra's help and completion commands to root
// now rather than at Execute, so that they carry examples like every other
// command. name is the binary's name.
func InitHelpAndCompletion(root *cobra.Command, name string) {
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		switch c.Name() {
		case "help":
			c.Example = fmt.Sprintf("  %s help\n  %s help completion", name, name)
		case "completion":
			c.Example = fmt.Sprintf("  source <(%s completion bash)\n  %s completion zsh > \"${fpath[1]}/_%s\"", name, name, name)
			for _, sh := range c.Commands() {
				sh.Example = fmt.Sprintf("  %s completion %s", name, sh.Name())
			}
		}
	}
}

// Version gives root (the binary name) --version and a version command,
// both printing "<name> (JobTech Data Hub) <version>".
func Version(root *cobra.Command, name, version string) {
	root.Version = version
	root.SetVersionTemplate(name + " (JobTech Data Hub) {{.Version}}\n")
	root.AddCommand(&cobra.Command{
		Use:     "version",
		Short:   "Print the version: module version, VCS commit and Go toolchain (as --version)",
		Example: "  " + name + " version",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "%s (JobTech Data Hub) %s\n", name, version)
			return err
		},
	})
}
