package cli

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/jobtech-dev/datahub/connector-kit/builtin"
)

func pluginsCmd() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "plugins [-o table|json|markdown]",
		Short: "List the built-in sources and sinks with their config fields and defaults",
		Long: `plugins lists every source (inputs:) and sink (outputs:) the connector can run, what each
does, and every field of its config: section with its type and default.`,
		Example: `  connector plugins
  connector plugins -o json | jq '.[] | select(.name == "webhook")'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			env, err := builtin.Environment()
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			switch output {
			case "json":
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(env.Plugins())
			case "markdown":
				return builtin.WriteMarkdown(out, env)
			case "table", "":
				for _, p := range env.Plugins() {
					fmt.Fprintf(out, "%s %s: %s\n", p.Kind, p.Name, p.Summary)
					tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
					for _, f := range p.Fields {
						def := f.Default
						if f.Required {
							def = "(required)"
						}
						fmt.Fprintf(tw, "    %s\t%s\t%s\t%s\n", f.Name, f.Type, def, f.Description)
					}
					if err := tw.Flush(); err != nil {
						return err
					}
				}
				return nil
			default:
				return fmt.Errorf("-o %q: want table, json or markdown", output)
			}
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "table", "output format: table, json or markdown")
	return cmd
}
