package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

// outputFormat is the -o/--output flag of listings: a table for people
// (the default), or json for programs — the API's own answer, encoded as it
// is (NDJSON for the streams: one API value per line).
type outputFormat string

const (
	formatTable outputFormat = "table"
	formatJSON  outputFormat = "json"
)

// String returns the format's name.
func (o *outputFormat) String() string { return string(*o) }

// Set accepts table or json; anything else is a usage error.
func (o *outputFormat) Set(v string) error {
	switch outputFormat(v) {
	case formatTable, formatJSON:
		*o = outputFormat(v)
		return nil
	}
	return fmt.Errorf("%q: want table or json", v)
}

// Type names the flag's value in help.
func (o *outputFormat) Type() string { return "table|json" }

// json reports whether json output was asked for.
func (o *outputFormat) json() bool { return *o == formatJSON }

// outputFlag adds -o/--output to cmd, table by default.
func outputFlag(cmd *cobra.Command) *outputFormat {
	o := formatTable
	cmd.Flags().VarP(&o, "output", "o", "output format: table (for people) or json (the API's answer as it is)")
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"table", "json"}, cobra.ShellCompDirectiveNoFileComp))
	return &o
}

// printJSON writes v as indented JSON.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// printTable fills a table whose columns are separated by tabs.
func printTable(w io.Writer, fill func(io.Writer)) error {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fill(tw)
	return tw.Flush()
}
