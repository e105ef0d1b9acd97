package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/signal"
	"syscall"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/jobtech-dev/datahub/connector-kit/kit"
	"github.com/jobtech-dev/datahub/internal/clirun"
	"github.com/jobtech-dev/datahub/internal/recordfile"
)

// importChunk is how many records one pipelined batch carries.
const importChunk = 500

func importCmd() *cobra.Command {
	var hf hubFlags
	var dataset string
	var quiet bool
	cmd := &cobra.Command{
		Use:   "import --dataset D FILE...",
		Short: "Bulk-publish JSON or NDJSON files, with a progress bar and a summary",
		Long: `import publishes every record of the files to dataset D straight to the hub, pipelined,
showing records/s and the rejected count as it goes, then a summary; each rejected record
is printed with its file:line and violations. Exit status 1 if any record was rejected or
the sharing policies do not let the actor publish to D; 2 for an unknown dataset or a hub
that cannot be reached.`,
		Example: `  connector import --dataset jobads --credentials jobbland.nk testdata/jobtech/job-ads.ndjson
  connector import -d taxonomy-concepts --credentials arbetsformedlingen.nk -q testdata/jobtech/taxonomy-concepts.json
  connector import --dataset jobads --credentials jobbland.nk --hub tls://hub.example.org:4222 --ca ca.pem testdata/jobtech/job-ads.ndjson`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, files []string) (err error) {
			defer func() { err = refusal(err) }()
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			c, err := hf.dial(ctx, "connector-import")
			if err != nil {
				return err
			}
			defer c.Close()
			total := 0
			for _, f := range files {
				if err := recordfile.ReadFile(f, func(recordfile.Record) error { total++; return nil }); err != nil {
					return err
				}
			}
			out, errOut := cmd.OutOrStdout(), cmd.ErrOrStderr()
			bar := progressbar.NewOptions(total, progressbar.OptionSetWriter(errOut), progressbar.OptionShowCount(),
				progressbar.OptionShowIts(), progressbar.OptionSetItsString("records"), progressbar.OptionThrottle(100*time.Millisecond),
				progressbar.OptionSetVisibility(!quiet), progressbar.OptionSetDescription("importing"))
			var stored, dups, rejected int
			start := time.Now()
			var chunk []recordfile.Record
			flush := func() error {
				if len(chunk) == 0 {
					return nil
				}
				recs := make([]kit.BatchRecord, len(chunk))
				for i, r := range chunk {
					recs[i] = kit.BatchRecord{Data: r.Data}
				}
				res, err := c.PublishBatch(ctx, dataset, recs)
				if err != nil {
					return err
				}
				for i, r := range res {
					var ve *kit.ValidationError
					switch {
					case r.Err == nil && r.Duplicate:
						dups++
					case r.Err == nil:
						stored++
					case errors.As(r.Err, &ve):
						rejected++
						_ = bar.Clear()
						fmt.Fprintf(out, "%s: rejected\n", chunk[i].Where())
						for _, v := range ve.Violations {
							fmt.Fprintf(out, "    %s\n", v)
						}
					default:
						return fmt.Errorf("%s: %w", chunk[i].Where(), r.Err)
					}
				}
				bar.Describe(fmt.Sprintf("importing (%d rejected)", rejected))
				_ = bar.Add(len(chunk))
				chunk = chunk[:0]
				return nil
			}
			for _, f := range files {
				err := recordfile.ReadFile(f, func(r recordfile.Record) error {
					chunk = append(chunk, r)
					if len(chunk) >= importChunk {
						return flush()
					}
					return nil
				})
				if err != nil {
					return err
				}
			}
			if err := flush(); err != nil {
				return err
			}
			_ = bar.Finish()
			el := time.Since(start)
			fmt.Fprintf(out, "\n%d records in %s (%.0f records/s): %d stored, %d duplicates, %d rejected\n",
				total, el.Round(time.Millisecond), float64(total)/el.Seconds(), stored, dups, rejected)
			if rejected > 0 {
				return exitCode(clirun.Refused)
			}
			return nil
		},
	}
	f := cmd.Flags()
	hf.register(cmd)
	f.StringVarP(&dataset, "dataset", "d", "", "dataset to publish to")
	f.BoolVarP(&quiet, "quiet", "q", false, "no progress bar")
	_ = cmd.MarkFlagRequired("dataset")
	_ = cmd.RegisterFlagCompletionFunc("dataset", hf.datasetNames)
	return cmd
}

func tailCmd() *cobra.Command {
	var hf hubFlags
	var all bool
	cmd := &cobra.Command{
		Use:   "tail DATASET",
		Short: "Print a dataset's records as NDJSON envelopes as they arrive",
		Long: `tail subscribes to DATASET as the actor of --credentials and prints each record as it
arrives, one envelope per line (records are data: there is no table), until interrupted;
--all prints the stored records first. Exit status 1 if the sharing policies do not let the
actor subscribe, 2 for an unknown dataset.`,
		Example: `  connector tail jobads --credentials matchwise.nk
  connector tail jobads --credentials matchwise.nk --all | jq -r .key`,
		Args: cobra.ExactArgs(1),
		ValidArgsFunction: func(cmd *cobra.Command, args []string, prefix string) ([]cobra.Completion, cobra.ShellCompDirective) {
			if len(args) > 0 {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			return hf.datasetNames(cmd, args, prefix)
		},
		RunE: func(cmd *cobra.Command, args []string) (err error) {
			defer func() { err = refusal(err) }()
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			c, err := hf.dial(ctx, "connector-tail")
			if err != nil {
				return err
			}
			defer c.Close()
			enc := json.NewEncoder(cmd.OutOrStdout())
			opts := []kit.SubscribeOption{kit.OnlyNew()}
			if all {
				opts = nil
			}
			sub, err := c.Subscribe(ctx, args[0], func(_ context.Context, d kit.Delivery) error {
				return enc.Encode(d.Envelope)
			}, opts...)
			if err != nil {
				return err
			}
			<-ctx.Done()
			return sub.Stop()
		},
	}
	hf.register(cmd)
	cmd.Flags().BoolVar(&all, "all", false, "print the stored records first")
	return cmd
}
