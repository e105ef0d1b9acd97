package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os/signal"
	"strconv"
	"syscall"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/jobtech-dev/datahub/connector-kit/recordfile"
	"github.com/jobtech-dev/datahub/connector-kit/wire"
)

// publishChunk is how many records one API batch carries.
const publishChunk = 1000

func publishCmd() *cobra.Command {
	var cf clientFlags
	var dataset string
	cmd := &cobra.Command{
		Use:   "publish --dataset D FILE...",
		Short: "Publish records from JSON or NDJSON files through the hub's ingest path",
		Long: `publish sends every record in the files (.ndjson/.jsonl: one per line; .json: one record
or an array) to dataset D as the admin, and prints each record's outcome. Exit status 1
if any record was rejected or not stored.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, files []string) error {
			c, ctx, cancel, err := cf.session(cmd)
			if err != nil {
				return err
			}
			defer cancel()
			out := cmd.OutOrStdout()
			var batch []recordfile.Record
			var stored, dups, bad int
			flush := func() error {
				if len(batch) == 0 {
					return nil
				}
				var body bytes.Buffer
				for _, r := range batch {
					body.Write(oneLine(r.Data))
					body.WriteByte('\n')
				}
				resp, err := c.do(ctx, http.MethodPost, "/api/v1/datasets/"+url.PathEscape(dataset)+"/records", "application/x-ndjson", body.Bytes())
				if err != nil {
					return err
				}
				defer resp.Body.Close()
				var res struct {
					Results []struct {
						Line int `json:"line"`
						wire.Reply
					} `json:"results"`
				}
				switch resp.StatusCode {
				case http.StatusOK, http.StatusUnprocessableEntity, http.StatusConflict, http.StatusServiceUnavailable:
				default:
					return errorFrom(resp)
				}
				if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
					return fmt.Errorf("decode publish answer: %w", err)
				}
				for _, o := range res.Results {
					r := batch[o.Line-1]
					switch o.Status {
					case wire.StatusStored, wire.StatusDuplicate:
						if o.Status == wire.StatusStored {
							stored++
						} else {
							dups++
						}
						fmt.Fprintf(out, "%s: %s id=%s key=%s seq=%d\n", r.Where(), o.Status, o.ID, o.Key, o.Seq)
					default:
						bad++
						if len(o.Violations) > 0 {
							fmt.Fprintf(out, "%s: %s: %d violation(s)\n", r.Where(), o.Status, len(o.Violations))
						} else {
							fmt.Fprintf(out, "%s: %s: %s\n", r.Where(), o.Status, o.Error)
						}
						for _, v := range o.Violations {
							fmt.Fprintf(out, "    %s\n", v)
						}
					}
				}
				batch = batch[:0]
				return nil
			}
			for _, f := range files {
				err := recordfile.ReadFile(f, func(r recordfile.Record) error {
					batch = append(batch, r)
					if len(batch) >= publishChunk {
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
			fmt.Fprintf(out, "%d stored, %d duplicates, %d not stored\n", stored, dups, bad)
			if bad > 0 {
				return exitCode(1)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&dataset, "dataset", "d", "", "dataset to publish to")
	_ = cmd.MarkFlagRequired("dataset")
	cf.register(cmd)
	return cmd
}

func readCmd() *cobra.Command {
	var cf clientFlags
	var dataset, since string
	var after uint64
	var snapshot, follow bool
	cmd := &cobra.Command{
		Use:   "read --dataset D [--since RFC3339 | --after SEQ | --snapshot] [--follow]",
		Short: "Print a dataset's records as NDJSON envelopes",
		Long: `read prints records of dataset D, one envelope per line:
{"id","dataset","key","seq","schema_version","publisher","origin","published_at","data"}.
By default it prints every stored record; --since and --after start later, --snapshot
prints the latest record per key (keys ended by a tombstone left out). --follow keeps
printing new records until interrupted.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := cf.client()
			if err != nil {
				return err
			}
			q := url.Values{}
			if since != "" {
				q.Set("since", since)
			}
			if after > 0 {
				q.Set("after", strconv.FormatUint(after, 10))
			}
			if snapshot {
				q.Set("snapshot", "true")
			}
			ctx := cmd.Context()
			if follow {
				q.Set("follow", "true")
				var stop context.CancelFunc
				ctx, stop = signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
				defer stop()
			} else {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, cmdTimeout)
				defer cancel()
			}
			err = c.stream(ctx, "/api/v1/datasets/"+url.PathEscape(dataset)+"/records?"+q.Encode(), cmd.OutOrStdout())
			if follow && ctx.Err() != nil {
				return nil
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVarP(&dataset, "dataset", "d", "", "dataset to read")
	f.StringVar(&since, "since", "", "start at records published at or after this RFC 3339 time")
	f.Uint64Var(&after, "after", 0, "start after this sequence number")
	f.BoolVar(&snapshot, "snapshot", false, "latest record per key")
	f.BoolVarP(&follow, "follow", "f", false, "keep printing new records")
	cmd.MarkFlagsMutuallyExclusive("since", "after", "snapshot")
	_ = cmd.MarkFlagRequired("dataset")
	cf.register(cmd)
	return cmd
}

func deadLettersCmd() *cobra.Command {
	var cf clientFlags
	var dataset string
	var after uint64
	cmd := &cobra.Command{
		Use:   "deadletters --dataset D [--after SEQ]",
		Short: "Print the records rejected for a dataset, with the reasons, as NDJSON",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, ctx, cancel, err := cf.session(cmd)
			if err != nil {
				return err
			}
			defer cancel()
			path := "/api/v1/datasets/" + url.PathEscape(dataset) + "/deadletters"
			if after > 0 {
				path += "?after=" + strconv.FormatUint(after, 10)
			}
			return c.stream(ctx, path, cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVarP(&dataset, "dataset", "d", "", "dataset whose rejections to print")
	cmd.Flags().Uint64Var(&after, "after", 0, "start after this dead-letter sequence number")
	_ = cmd.MarkFlagRequired("dataset")
	cf.register(cmd)
	return cmd
}

func datasetsCmd() *cobra.Command {
	var cf clientFlags
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "datasets",
		Short: "List the hub's datasets with their record counts",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, ctx, cancel, err := cf.session(cmd)
			if err != nil {
				return err
			}
			defer cancel()
			var list []struct {
				Name          string `json:"name"`
				Owner         string `json:"owner"`
				Key           string `json:"key"`
				SchemaVersion int    `json:"schema_version"`
				Retention     string `json:"retention"`
				Stats         *struct {
					Records uint64 `json:"records"`
					Keys    uint64 `json:"keys"`
					LastSeq uint64 `json:"last_seq"`
				} `json:"stats"`
			}
			if err := c.getJSON(ctx, "/api/v1/datasets", &list); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(list)
			}
			return printTable(out, func(tw io.Writer) {
				fmt.Fprintln(tw, "NAME\tOWNER\tKEY\tSCHEMA\tRETENTION\tRECORDS\tKEYS\tLAST SEQ")
				for _, d := range list {
					var recs, keys, last uint64
					if d.Stats != nil {
						recs, keys, last = d.Stats.Records, d.Stats.Keys, d.Stats.LastSeq
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\tv%d\t%s\t%d\t%d\t%d\n", d.Name, d.Owner, d.Key, d.SchemaVersion, d.Retention, recs, keys, last)
				}
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cf.register(cmd)
	return cmd
}

func printTable(w io.Writer, fill func(io.Writer)) error {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fill(tw)
	return tw.Flush()
}

// oneLine makes a record fit one NDJSON line: valid JSON is compacted (same
// value); the newlines of invalid JSON become spaces, and the hub rejects it
// with its syntax error.
func oneLine(b []byte) []byte {
	if bytes.IndexByte(b, '\n') < 0 {
		return b
	}
	var c bytes.Buffer
	if err := json.Compact(&c, b); err == nil {
		return c.Bytes()
	}
	return bytes.ReplaceAll(bytes.ReplaceAll(b, []byte("\r"), []byte(" ")), []byte("\n"), []byte(" "))
}
