package cli

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/jobtech-dev/datahub/hub/internal/api"
	"github.com/jobtech-dev/datahub/hub/internal/datasets"
	"github.com/jobtech-dev/datahub/hub/internal/registry"
	"github.com/jobtech-dev/datahub/internal/clirun"
)

func datasetCmd() *cobra.Command {
	cmd := clirun.Group(&cobra.Command{
		Use:   "dataset",
		Short: "Apply, list, show and delete datasets",
		Example: `  hub dataset apply -f schemas/
  hub dataset list
  hub dataset show jobads
  hub dataset delete gigs --confirm gigs`,
	})
	cmd.AddCommand(datasetApplyCmd(), datasetListCmd("list"), datasetShowCmd(), datasetDeleteCmd())
	return cmd
}

func datasetApplyCmd() *cobra.Command {
	var cf clientFlags
	var from string
	var prune, dryRun bool
	cmd := &cobra.Command{
		Use:   "apply -f DIR [--prune] [--dry-run]",
		Short: "Apply a folder of dataset declarations (atomic: on any error nothing changes)",
		Long: `apply sends a schemas folder (each <dataset>/dataset.yaml with the JSON files beside it; or
one dataset's folder) to the hub, which checks it all and puts it in force at once: new
datasets get their streams and can be published to at once, changed declarations update
their streams, and a schema that differs from a dataset's latest version is registered as
its next version if it passes the dataset's compatibility mode. On any error nothing
changes, and the error names the file, line and field, or lists every breaking change of
a schema (exit status 1).

Datasets in force that the folder leaves out are kept. With --prune they are retired:
their streams and records are kept and can still be read, publishes are refused, until
'hub dataset delete' removes them. --dry-run checks and prints what would change.`,
		Example: `  hub dataset apply -f schemas/
  hub dataset apply -f schemas/ --dry-run
  hub dataset apply -f schemas/ --prune
  hub dataset apply -f schemas/gigs`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			files, err := registry.ReadDir(from)
			if err != nil {
				return err
			}
			// Check locally first: the error names the files as they are here.
			ds, err := registry.LoadDir(from)
			if err != nil {
				return clirun.Refusal(err)
			}
			if len(ds) == 0 {
				return clirun.Usagef("%s declares no dataset (a schemas folder holds <dataset>/dataset.yaml files)", from)
			}
			if _, err := os.Stat(filepath.Join(from, registry.DeclarationFile)); err == nil && prune {
				return clirun.Usagef("%s is one dataset's folder: --prune needs the whole schemas folder (it would retire every other dataset)", from)
			}
			c, ctx, cancel, err := cf.session(cmd)
			if err != nil {
				return err
			}
			defer cancel()
			source, err := filepath.Abs(from)
			if err != nil {
				source = from
			}
			req := api.ApplyDatasetsRequest{Files: map[string]string{}, Source: source, Prune: prune, DryRun: dryRun}
			for k, v := range files {
				req.Files[k] = string(v)
			}
			var res api.ApplyDatasetsResult
			if err := c.sendJSON(ctx, http.MethodPut, "/api/v1/datasets", req, &res); err != nil {
				return err
			}
			for _, w := range res.Warnings {
				fmt.Fprintln(cmd.ErrOrStderr(), "warning:", w)
			}
			printApply(cmd.OutOrStdout(), res.ApplyResult)
			return nil
		},
	}
	cmd.Flags().StringVarP(&from, "file", "f", "", "the schemas folder (or one dataset's folder)")
	_ = cmd.MarkFlagRequired("file")
	cmd.Flags().BoolVar(&prune, "prune", false, "retire the datasets in force that the folder leaves out (their records are kept)")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "check and print what would change, changing nothing")
	cf.register(cmd)
	return cmd
}

// printApply prints what an apply did, one line per dataset it touched.
func printApply(w io.Writer, res datasets.ApplyResult) {
	verb := "applied"
	if res.DryRun {
		verb = "would apply"
	}
	if !res.Changed {
		fmt.Fprintf(w, "no change: %d datasets already in force (%s)\n", len(res.Datasets), short(res.Digest))
		return
	}
	for _, c := range res.Datasets {
		switch c.Action {
		case datasets.ActionUnchanged, datasets.ActionKept:
			continue
		}
		line := fmt.Sprintf("  %-10s %s", c.Action, c.Dataset)
		if len(c.Fields) > 0 {
			line += " (" + strings.Join(c.Fields, ", ") + ")"
		}
		if c.Version > 0 {
			line += fmt.Sprintf(", schema version %d", c.Version)
		}
		fmt.Fprintln(w, line)
	}
	fmt.Fprintf(w, "%s: %d added, %d changed, %d retired, %d restored (%s); %d live connections re-authorized\n", verb,
		res.Count(datasets.ActionAdded), res.Count(datasets.ActionChanged), res.Count(datasets.ActionRetired), res.Count(datasets.ActionRestored),
		short(res.Digest), res.Recut)
}

// datasetListCmd lists the datasets; use is "list" under `hub dataset`, or
// "datasets" at the root, where it always was.
func datasetListCmd(use string) *cobra.Command {
	var cf clientFlags
	var asJSON bool
	cmd := &cobra.Command{
		Use:   use + " [-o table|json]",
		Short: "List the hub's datasets with their schema version and record counts",
		Example: `  hub dataset list
  hub datasets
  hub datasets -o json | jq -r '.[].name'`,
		Args: cobra.NoArgs,
	}
	if use == "datasets" {
		cmd.Short += " (hub dataset list)"
	}
	format := outputFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		c, ctx, cancel, err := cf.session(cmd)
		if err != nil {
			return err
		}
		defer cancel()
		var list []api.DatasetInfo
		if err := c.getJSON(ctx, "/api/v1/datasets", &list); err != nil {
			return err
		}
		out := cmd.OutOrStdout()
		if asJSON || format.json() {
			return printJSON(out, list)
		}
		var notes []string
		err = printTable(out, func(tw io.Writer) {
			fmt.Fprintln(tw, "NAME\tOWNER\tKEY\tSCHEMA\tCOMPATIBILITY\tRETENTION\tRECORDS\tKEYS\tLAST SEQ\tVALIDATOR")
			for _, d := range list {
				var recs, keys, last uint64
				if d.Stats != nil {
					recs, keys, last = d.Stats.Records, d.Stats.Keys, d.Stats.LastSeq
				}
				name := d.Name
				if d.Retired != nil {
					name += " (retired)"
				}
				validator := d.Validator
				if kind, why, ok := strings.Cut(d.Validator, " ("); ok {
					// The reason is long: it goes under the table.
					validator = kind + "*"
					notes = append(notes, fmt.Sprintf("* %s: validator: %s (%s", d.Name, kind, why))
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\tv%d\t%s\t%s\t%d\t%d\t%d\t%s\n", name, d.Owner, d.Key, d.SchemaVersion, d.Compatibility, d.Retention, recs, keys, last, validator)
			}
		})
		for _, n := range notes {
			fmt.Fprintln(out, n)
		}
		return err
	}
	if use == "datasets" {
		cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
		_ = cmd.Flags().MarkDeprecated("json", "use -o json")
	}
	cf.register(cmd)
	return cmd
}

func datasetShowCmd() *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{
		Use:   "show NAME [-o table|json]",
		Short: "Show a dataset: its declaration, schema versions and stream",
		Example: `  hub dataset show jobads
  hub dataset show jobads -o json | jq '.versions'`,
		Args: cobra.ExactArgs(1),
	}
	format := outputFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		c, ctx, cancel, err := cf.session(cmd)
		if err != nil {
			return err
		}
		defer cancel()
		var d api.DatasetInfo
		if err := c.getJSON(ctx, "/api/v1/datasets/"+url.PathEscape(args[0]), &d); err != nil {
			return err
		}
		out := cmd.OutOrStdout()
		if format.json() {
			return printJSON(out, d)
		}
		return printTable(out, func(tw io.Writer) {
			row := func(k, v string) {
				if v != "" {
					fmt.Fprintf(tw, "%s:\t%s\n", k, v)
				}
			}
			row("name", d.Name)
			row("title", d.Title)
			row("owner", d.Owner)
			row("key", d.Key)
			row("tombstone", d.Tombstone)
			row("key_scope", d.KeyScope)
			row("retention", d.Retention)
			row("dedupe_window", d.DedupeWindow)
			if d.MaxPerKey > 0 {
				row("max_per_key", fmt.Sprint(d.MaxPerKey))
			}
			row("compatibility", d.Compatibility)
			row("compatibility_policy", d.CompatibilityPolicy)
			row("validator", d.Validator)
			row("declared in", d.File)
			if d.Retired != nil {
				row("retired", fmt.Sprintf("%s by %s (records kept; publishes refused; 'hub dataset delete %s --confirm %s' removes it)",
					d.Retired.At.UTC().Format(timeFormat), d.Retired.By, d.Name, d.Name))
			}
			if d.Stats != nil {
				row("records", fmt.Sprintf("%d (%d keys, sequences %d-%d)", d.Stats.Records, d.Stats.Keys, d.Stats.FirstSeq, d.Stats.LastSeq))
			}
			for i, v := range d.Versions {
				label := ""
				if i == 0 {
					label = "schema versions:"
				}
				mark := ""
				if v.Version == d.SchemaVersion {
					mark = " (latest)"
				}
				fmt.Fprintf(tw, "%s\tv%d%s registered %s by %s (%s)\n", label, v.Version, mark, v.RegisteredAt.UTC().Format(timeFormat), v.By, v.Route)
			}
		})
	}
	cf.register(cmd)
	cmd.ValidArgsFunction = firstArg(cf.datasetNames)
	return cmd
}

func datasetDeleteCmd() *cobra.Command {
	var cf clientFlags
	var confirm string
	cmd := &cobra.Command{
		Use:   "delete NAME --confirm NAME",
		Short: "Delete a retired dataset with every record it holds",
		Long: `delete removes a retired dataset for good: its stream with every record and subscription,
its schema versions and its key owners (audited). Only a retired dataset can be deleted:
retire it first by applying the schemas folder without it with --prune (its records stay
readable until then). --confirm must repeat the dataset's name.`,
		Example: `  hub dataset apply -f schemas/ --prune
  hub dataset delete gigs --confirm gigs`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if confirm != args[0] {
				return clirun.Usagef("deleting dataset %s removes every record it holds: give --confirm %s", args[0], args[0])
			}
			c, ctx, cancel, err := cf.session(cmd)
			if err != nil {
				return err
			}
			defer cancel()
			var res datasets.DeleteResult
			path := "/api/v1/datasets/" + url.PathEscape(args[0]) + "?" + url.Values{"confirm": {confirm}}.Encode()
			if err := c.sendJSON(ctx, http.MethodDelete, path, nil, &res); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "dataset %s deleted: %d records, %d schema versions, %d key owners\n", res.Dataset, res.Records, res.Versions, res.Owners)
			return nil
		},
	}
	cmd.Flags().StringVar(&confirm, "confirm", "", "the dataset's name again")
	cf.register(cmd)
	cmd.ValidArgsFunction = firstArg(cf.datasetNames)
	return cmd
}
