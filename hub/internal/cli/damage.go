package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/spf13/cobra"

	"github.com/jobtech-dev/datahub/hub/internal/api"
	"github.com/jobtech-dev/datahub/internal/clirun"
)

func damageCmd() *cobra.Command {
	cmd := clirun.Group(&cobra.Command{
		Use:   "damage",
		Short: "List and acknowledge stored data the hub found lost or unreadable",
		Long: `At every start, and every few seconds while it runs, the hub compares each stream (the
datasets, the dead letters, the audit log, the KV buckets of actors and policies) with what
it last recorded of it; reads report records the server cannot load. What is lost makes the
hub's /readyz answer 503 "degraded" until an admin acknowledges it here, saying what was
done about it (restored from a backup, publishers asked to resend, accepted as lost).`,
		Example: "  hub damage list\n  hub damage ack jobads --reason \"restored from last night's backup\"",
	})
	var lf clientFlags
	var output string
	list := &cobra.Command{
		Use:   "list",
		Short: "List the data loss found and not yet acknowledged",
		Example: `  hub damage list
  hub damage list -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, ctx, cancel, err := lf.session(cmd)
			if err != nil {
				return err
			}
			defer cancel()
			var rep api.DamageReport
			if err := c.getJSON(ctx, "/api/v1/damage", &rep); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			switch output {
			case "json":
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(rep)
			case "table", "":
			default:
				return fmt.Errorf("-o %q: want table or json", output)
			}
			if len(rep.Findings) == 0 {
				fmt.Fprintln(out, "no data loss found: the hub is not degraded")
				return nil
			}
			err = printTable(out, func(tw io.Writer) {
				fmt.Fprintln(tw, "NAME\tSTREAM\tKIND\tSEQUENCES\tCOUNT\tFOUND\tDETAIL")
				for _, f := range rep.Findings {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", f.Name(), f.Stream, f.Kind, f.Range(), f.Count, f.Found.Format("2006-01-02T15:04:05Z"), f.Detail)
				}
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "\nthe hub is degraded until each is acknowledged: hub damage ack NAME --reason '...'\n")
			return nil
		},
	}
	list.Flags().StringVarP(&output, "output", "o", "table", "table or json")
	lf.register(list)

	var af clientFlags
	var reason string
	ack := &cobra.Command{
		Use:   "ack NAME --reason TEXT",
		Short: "Acknowledge the data loss found in a dataset, bucket or stream (audited)",
		Long: `ack removes the findings about NAME — a dataset (jobads), a KV bucket (hub_actors) or a
stream (AUDIT, DEADLETTER) — once you have dealt with them, and records who did it and why
in the audit log. The hub is ready again when no finding is left.`,
		Example: `  hub damage ack jobads --reason "restored from the backup of 2026-11-30; publishers asked to resend since then"`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, ctx, cancel, err := af.session(cmd)
			if err != nil {
				return err
			}
			defer cancel()
			var res api.AckDamageResult
			if err := c.sendJSON(ctx, http.MethodPost, "/api/v1/damage/"+url.PathEscape(args[0])+"/ack", api.AckDamageRequest{Reason: reason}, &res); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			for _, f := range res.Acknowledged {
				fmt.Fprintf(out, "acknowledged: %s\n", f)
			}
			fmt.Fprintf(out, "hub status: %s\n", res.Status)
			return nil
		},
	}
	ack.Flags().StringVar(&reason, "reason", "", "what was done about the loss (required; kept in the audit log)")
	_ = ack.MarkFlagRequired("reason")
	af.register(ack)
	cmd.AddCommand(list, ack)
	return cmd
}
