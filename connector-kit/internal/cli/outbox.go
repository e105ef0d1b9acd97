package cli

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/jobtech-dev/datahub/connector-kit/internal/outbox"
	"github.com/jobtech-dev/datahub/connector-kit/internal/sidecar"
	"github.com/jobtech-dev/datahub/internal/clirun"
)

// outboxCmd is `connector outbox check|repair`: the way forward when the
// outbox is damaged on disk and the connector refuses to start.
func outboxCmd() *cobra.Command {
	cmd := clirun.Group(&cobra.Command{
		Use:   "outbox",
		Short: "Check or repair the connector's outbox (stop the connector first)",
		Long: `The outbox keeps every POSTed record on disk until the hub stored it. Each record is a
frame with a CRC, so damage on disk (a flipped byte, a lost block) is found, never
forwarded. When the connector refuses to start because its outbox is damaged:

  connector outbox check --outbox DIR    lists the damaged spans and the records lost
  connector outbox repair --outbox DIR   keeps every intact record, in order, and copies
                                         the damaged bytes to DIR.quarantine/ with a report

Both take the outbox's lock: stop the connector first.`,
		Example: "  connector outbox check -c connector.yaml\n  connector outbox repair -c connector.yaml",
	})
	var dir, file string
	where := func(c *cobra.Command) {
		c.Flags().StringVar(&dir, "outbox", "outbox", "outbox folder")
		c.Flags().StringVarP(&file, "config", "c", "", "connector.yaml: take the outbox folder from it")
	}
	resolve := func() (string, error) {
		if file == "" {
			return dir, nil
		}
		cfg, err := sidecar.ReadConfig(file)
		if err != nil {
			return "", err
		}
		return cfg.Outbox, nil
	}
	check := &cobra.Command{
		Use:   "check [--outbox DIR | -c connector.yaml]",
		Short: "List the outbox's damaged spans and the records lost in them; change nothing",
		Long: `check reads every record of the outbox and lists each span that does not decode: its file,
offset and size, why, which records were lost in it and, when their headers survived, their
ids. Exit status 0 when the outbox is intact, 1 when it is damaged.`,
		Example: "  connector outbox check --outbox ./outbox\n  connector outbox check -c connector.yaml",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			d, err := resolve()
			if err != nil {
				return err
			}
			rep, err := outbox.Check(d)
			if err != nil {
				return lockedHint(err)
			}
			printReport(cmd.OutOrStdout(), rep)
			if rep.Damaged() {
				fmt.Fprintf(cmd.OutOrStdout(), "to keep the %d intact records and set the damaged bytes aside: connector outbox repair --outbox %s\n", rep.Intact, d)
				return exitCode(1)
			}
			return nil
		},
	}
	where(check)
	repair := &cobra.Command{
		Use:   "repair [--outbox DIR | -c connector.yaml]",
		Short: "Keep every intact record of a damaged outbox and set the damaged bytes aside",
		Long: `repair copies each damaged span (and a torn tail) to DIR.quarantine/, with a report naming
the records lost, then rewrites the outbox with every intact record not yet forwarded, in
order, with its record id unchanged (the hub stores each once). The switch is atomic: a
crash during the repair leaves the old outbox or the repaired one. Start the connector
afterwards; the records that were lost must be sent again by their applications.`,
		Example: "  connector outbox repair --outbox ./outbox",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			d, err := resolve()
			if err != nil {
				return err
			}
			res, err := outbox.Repair(d)
			if err != nil {
				return lockedHint(err)
			}
			out := cmd.OutOrStdout()
			printReport(out, res.Report)
			if res.Quarantine == "" {
				fmt.Fprintln(out, "nothing to repair")
				return nil
			}
			fmt.Fprintf(out, "repaired: %d records kept; damaged bytes and a report in %s\n", res.Kept, res.Quarantine)
			for _, f := range res.Files {
				fmt.Fprintf(out, "  %s\n", f)
			}
			return nil
		},
	}
	where(repair)
	cmd.AddCommand(check, repair)
	return cmd
}

func lockedHint(err error) error {
	if errors.Is(err, outbox.ErrLocked) {
		return fmt.Errorf("%w: a connector is running on this outbox; stop it first", err)
	}
	return err
}

func printReport(w io.Writer, r *outbox.Report) {
	fmt.Fprintf(w, "outbox %s: %d segment files, %d intact records waiting, acked floor %d\n", r.Dir, r.Segments, r.Intact, r.Floor)
	if r.FloorDamaged {
		fmt.Fprintln(w, "damaged: the acked floor file; a repair sets it to 0 (records are sent again, the hub stores each once)")
	}
	for _, p := range r.Problems {
		fmt.Fprintf(w, "damaged: %s\n", p)
	}
	for _, d := range r.Damage {
		fmt.Fprintf(w, "damaged: %s offset %d, %d bytes: %s; %s\n", d.File, d.Offset, d.Length, d.Reason, d.Lost())
	}
	if t := r.TornTail; t != nil {
		fmt.Fprintf(w, "torn tail (a crash during a write; cut at the next start, never acknowledged to a client): %s offset %d, %d bytes: %s; %s\n",
			t.File, t.Offset, t.Length, t.Reason, t.Lost())
	}
	if r.Preallocated > 0 {
		fmt.Fprintf(w, "%d zero bytes after the last record (space kept ahead of the records by a connector that did not stop cleanly; cut at the next start)\n", r.Preallocated)
	}
	if !r.Damaged() && r.TornTail == nil {
		fmt.Fprintln(w, "intact")
	}
}
