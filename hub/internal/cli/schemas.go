package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/hub/internal/api"
	"github.com/jobtech-dev/datahub/hub/internal/compat"
	"github.com/jobtech-dev/datahub/hub/internal/datasets"
	"github.com/jobtech-dev/datahub/internal/clirun"
)

func schemaCmd() *cobra.Command {
	cmd := clirun.Group(&cobra.Command{
		Use:   "schema",
		Short: "Register, check, compare and read the versions of a dataset's schema",
		Example: `  hub schema check jobads jobad-v2.schema.json
  hub schema add jobads jobad-v2.schema.json
  hub schema diff jobads 1 2
  hub schema list jobads
  hub schema show jobads 1`,
	})
	cmd.AddCommand(schemaListCmd(), schemaShowCmd(), schemaAddCmd(), schemaCheckCmd(), schemaDiffCmd())
	return cmd
}

// readSchemaFile reads a schema document from file, or standard input for "-".
func readSchemaFile(file string) ([]byte, error) {
	if file == "-" {
		return io.ReadAll(os.Stdin)
	}
	return os.ReadFile(file)
}

func schemaListCmd() *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{
		Use:   "list DATASET [-o table|json]",
		Short: "List the registered versions of a dataset's schema",
		Example: `  hub schema list jobads
  hub schema list jobads -o json | jq '.latest'`,
		Args: cobra.ExactArgs(1),
	}
	format := outputFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		c, ctx, cancel, err := cf.session(cmd)
		if err != nil {
			return err
		}
		defer cancel()
		var list wire.SchemaVersions
		if err := c.getJSON(ctx, "/api/v1/datasets/"+url.PathEscape(args[0])+"/schemas", &list); err != nil {
			return err
		}
		if format.json() {
			return printJSON(cmd.OutOrStdout(), list)
		}
		return printTable(cmd.OutOrStdout(), func(tw io.Writer) {
			fmt.Fprintln(tw, "VERSION\tREGISTERED\tBY\tROUTE\tDIGEST")
			for _, v := range list.Versions {
				n := strconv.Itoa(v.Version)
				if v.Version == list.Latest {
					n += " (latest)"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", n, v.RegisteredAt.UTC().Format(timeFormat), v.By, v.Route, short(v.Digest))
			}
		})
	}
	cf.register(cmd)
	cmd.ValidArgsFunction = firstArg(cf.datasetNames)
	return cmd
}

func schemaShowCmd() *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{
		Use:   "show DATASET [VERSION]",
		Short: "Print one version of a dataset's schema (the latest by default)",
		Example: `  hub schema show jobads
  hub schema show jobads 1 > jobad-v1.schema.json`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			version := "latest"
			if len(args) == 2 {
				if _, err := strconv.Atoi(args[1]); err != nil {
					return clirun.Usagef("version %q: want a version number", args[1])
				}
				version = args[1]
			}
			c, ctx, cancel, err := cf.session(cmd)
			if err != nil {
				return err
			}
			defer cancel()
			resp, err := c.do(ctx, http.MethodGet, "/api/v1/datasets/"+url.PathEscape(args[0])+"/schemas/"+version, "", nil)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return errorFrom(resp)
			}
			_, err = io.Copy(cmd.OutOrStdout(), resp.Body)
			return err
		},
	}
	cf.register(cmd)
	cmd.ValidArgsFunction = firstArg(cf.datasetNames)
	return cmd
}

func schemaAddCmd() *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{
		Use:   "add DATASET FILE",
		Short: "Register FILE as the next version of the dataset's schema, if it is compatible",
		Long: `add registers the JSON Schema in FILE ('-' for standard input) as the next version of the
dataset's schema, only if it passes the dataset's compatibility mode (compatibility: in its
dataset.yaml, BACKWARD by default). A refusal lists every breaking change with the direction
it breaks and a pointer into each schema, and registers nothing (exit status 1). Records are
then validated against the new version, unless their publisher pins another.`,
		Example: `  hub schema add jobads jobad-v2.schema.json
  hub schema check jobads jobad-v2.schema.json && hub schema add jobads jobad-v2.schema.json`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			resp, done, err := postSchema(cmd, &cf, args[0], "/schemas", args[1])
			if err != nil {
				return err
			}
			defer done()
			if resp.StatusCode/100 != 2 {
				return errorFrom(resp)
			}
			var res datasets.AddResult
			if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if !res.Changed {
				fmt.Fprintf(out, "no change: %s is version %d of %s already\n", args[1], res.Version, res.Dataset)
				return nil
			}
			fmt.Fprintf(out, "registered version %d of %s\n", res.Version, res.Dataset)
			return res.Report.WriteText(out)
		},
	}
	cf.register(cmd)
	cmd.ValidArgsFunction = firstArg(cf.datasetNames)
	return cmd
}

func schemaCheckCmd() *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{
		Use:   "check DATASET FILE [-o table|json]",
		Short: "Check FILE against the dataset's registered versions without registering it",
		Long: `check runs the compatibility check that 'hub schema add' runs, registering nothing: for the
CI of schema repositories. It prints the verdict and every breaking change with the direction
it breaks and a pointer into each schema; exit status 1 when the version would be refused.`,
		Example: `  hub schema check jobads jobad-v2.schema.json
  hub schema check jobads - < jobad-v2.schema.json
  hub schema check jobads jobad-v2.schema.json -o json | jq '.breaking[].type'`,
		Args: cobra.ExactArgs(2),
	}
	format := outputFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		resp, done, err := postSchema(cmd, &cf, args[0], "/schemas/check", args[1])
		if err != nil {
			return err
		}
		defer done()
		if resp.StatusCode != http.StatusOK {
			return errorFrom(resp)
		}
		var rep compat.Report
		if err := json.NewDecoder(resp.Body).Decode(&rep); err != nil {
			return err
		}
		out := cmd.OutOrStdout()
		if format.json() {
			err = printJSON(out, rep)
		} else {
			err = rep.WriteText(out)
		}
		if err == nil && !rep.Compatible {
			return exitCode(clirun.Refused)
		}
		return err
	}
	cf.register(cmd)
	cmd.ValidArgsFunction = firstArg(cf.datasetNames)
	return cmd
}

func schemaDiffCmd() *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{
		Use:   "diff DATASET V1 V2 [-o table|json]",
		Short: "Show every change between two versions of a dataset's schema",
		Example: `  hub schema diff jobads 1 2
  hub schema diff jobads 1 2 -o json | jq '.changes[] | select(.breaks != "none")'`,
		Args: cobra.ExactArgs(3),
	}
	format := outputFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		for _, v := range args[1:] {
			if _, err := strconv.Atoi(v); err != nil {
				return clirun.Usagef("version %q: want a version number", v)
			}
		}
		c, ctx, cancel, err := cf.session(cmd)
		if err != nil {
			return err
		}
		defer cancel()
		var d api.SchemaDiff
		path := "/api/v1/datasets/" + url.PathEscape(args[0]) + "/schemas/diff?" + url.Values{"from": {args[1]}, "to": {args[2]}}.Encode()
		if err := c.getJSON(ctx, path, &d); err != nil {
			return err
		}
		if format.json() {
			return printJSON(cmd.OutOrStdout(), d)
		}
		fmt.Fprintf(cmd.OutOrStdout(), "%s: version %d → %d\n", d.Dataset, d.From, d.To)
		return compat.WriteChanges(cmd.OutOrStdout(), d.Changes)
	}
	cf.register(cmd)
	cmd.ValidArgsFunction = firstArg(cf.datasetNames)
	return cmd
}

// postSchema sends the schema in file ('-': standard input) to a schema
// route of dataset ("/schemas" registers, "/schemas/check" only checks).
// done closes the answer and ends the session.
func postSchema(cmd *cobra.Command, cf *clientFlags, dataset, route, file string) (resp *http.Response, done func(), err error) {
	doc, err := readSchemaFile(file)
	if err != nil {
		return nil, nil, err
	}
	c, ctx, cancel, err := cf.session(cmd)
	if err != nil {
		return nil, nil, err
	}
	resp, err = c.do(ctx, http.MethodPost, "/api/v1/datasets/"+url.PathEscape(dataset)+route, "application/schema+json", doc)
	if err != nil {
		cancel()
		return nil, nil, err
	}
	return resp, func() { _ = resp.Body.Close(); cancel() }, nil
}
