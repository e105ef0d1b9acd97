package cli

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/jobtech-dev/datahub/hub/internal/api"
	"github.com/jobtech-dev/datahub/hub/internal/jobstore"
	"github.com/jobtech-dev/datahub/internal/clirun"
)

func serviceCmd() *cobra.Command {
	cmd := clirun.Group(&cobra.Command{
		Use:   "service",
		Short: "Publish, list and remove service descriptions in the Jobstore",
		Long: `The Jobstore lists the digital services actors build on the hub's datasets (matching,
recruitment, education, gig), on the public catalog. A description is a YAML file:

  actor: matchwise
  name: matchwise-jobs
  title: Matchwise job matching
  description: Matches job seekers to every open ad, using the taxonomy.
  category: matching            # matching, recruitment, education or gig
  url: https://matchwise.example/
  datasets: [jobads, taxonomy-concepts]
  contact: team@matchwise.example

It is read strictly (an unknown field is an error naming its line) and checked whole before
it is sent. Actors can also publish their own from the web pages once signed in.`,
		Example: "  hub service publish -f service.yaml\n  hub service list --category matching",
	})
	var pf clientFlags
	var file string
	publish := &cobra.Command{
		Use:   "publish -f service.yaml",
		Short: "Publish (or replace) a service description (audited)",
		Example: `  hub service publish -f service.yaml
  hub service publish -f examples/matcher/service.yaml --hub-url http://127.0.0.1:8080`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, err := os.ReadFile(file)
			if err != nil {
				return clirun.Usage(err)
			}
			s, err := jobstore.ParseYAML(file, b, nil) // datasets are checked by the hub
			if err != nil {
				return clirun.Refusal(err)
			}
			c, ctx, cancel, err := pf.session(cmd)
			if err != nil {
				return err
			}
			defer cancel()
			var out jobstore.Service
			req := api.ServiceRequest{Title: s.Title, Description: s.Description, Category: s.Category, URL: s.URL, Datasets: s.Datasets, Contact: s.Contact}
			if err := c.sendJSON(ctx, http.MethodPut, "/api/v1/services/"+url.PathEscape(s.Actor)+"/"+url.PathEscape(s.Name), req, &out); err != nil {
				return clirun.Refusal(err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "published %s/%s (%s): %s/services/%s/%s\n", out.Actor, out.Name, out.Category, strings.TrimRight(pf.hubURL, "/"), out.Actor, out.Name)
			return nil
		},
	}
	publish.Flags().StringVarP(&file, "file", "f", "", "the service description (YAML)")
	_ = publish.MarkFlagRequired("file")
	pf.register(publish)

	var lf clientFlags
	var q, category, dataset, actor string
	var list *cobra.Command
	list = &cobra.Command{
		Use:   "list",
		Short: "List or search the Jobstore's services",
		Example: `  hub service list
  hub service list --category matching --dataset jobads
  hub service list -q "job matching" -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, ctx, cancel, err := lf.session(cmd)
			if err != nil {
				return err
			}
			defer cancel()
			v := url.Values{}
			for k, val := range map[string]string{"q": q, "category": category, "dataset": dataset, "actor": actor} {
				if val != "" {
					v.Set(k, val)
				}
			}
			path := "/api/v1/services"
			if len(v) > 0 {
				path += "?" + v.Encode()
			}
			var out []jobstore.Service
			if err := c.getJSON(ctx, path, &out); err != nil {
				return err
			}
			if listOutput(list).json() {
				return printJSON(cmd.OutOrStdout(), out)
			}
			return printTable(cmd.OutOrStdout(), func(tw io.Writer) {
				fmt.Fprintln(tw, "ACTOR\tNAME\tCATEGORY\tDATASETS\tTITLE\tURL")
				for _, s := range out {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", s.Actor, s.Name, s.Category, strings.Join(s.Datasets, ","), s.Title, s.URL)
				}
			})
		},
	}
	list.Flags().StringVarP(&q, "query", "q", "", "words the title, description, name or actor must hold")
	list.Flags().StringVar(&category, "category", "", "matching, recruitment, education or gig")
	list.Flags().StringVar(&dataset, "dataset", "", "services using this dataset")
	list.Flags().StringVar(&actor, "actor", "", "services of this actor")
	outputFlag(list)
	lf.register(list)

	var rf clientFlags
	remove := &cobra.Command{
		Use:     "remove ACTOR NAME",
		Short:   "Remove a service description (audited)",
		Example: "  hub service remove matchwise matchwise-jobs",
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, ctx, cancel, err := rf.session(cmd)
			if err != nil {
				return err
			}
			defer cancel()
			if err := c.sendJSON(ctx, http.MethodDelete, "/api/v1/services/"+url.PathEscape(args[0])+"/"+url.PathEscape(args[1]), nil, nil); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "removed %s/%s\n", args[0], args[1])
			return nil
		},
	}
	rf.register(remove)
	cmd.AddCommand(publish, list, remove)
	return cmd
}

// listOutput is the -o flag outputFlag added to cmd.
func listOutput(cmd *cobra.Command) *outputFormat {
	return cmd.Flags().Lookup("output").Value.(*outputFormat)
}
