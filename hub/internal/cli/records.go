package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/internal/clirun"
	"github.com/jobtech-dev/datahub/internal/problem"
	"github.com/jobtech-dev/datahub/internal/recordfile"
)

// publishChunk is how many records one API batch carries.
const publishChunk = 1000

func publishCmd() *cobra.Command {
	var cf clientFlags
	var dataset, idFrom, mapKey string
	var quiet bool
	cmd := &cobra.Command{
		Use:   "publish --dataset D FILE...",
		Short: "Publish records from JSON or NDJSON files through the hub's ingest path",
		Long: `publish sends every record in the files (.ndjson/.jsonl: one per line; .json: one record
or an array) to dataset D as the admin, and prints each record's outcome (with --quiet only
the records not stored) and a summary. --id-from makes each record's id from that field
and the record's content, so publishing the same file again stores nothing twice.
--map-key FIELD reads a JSON document that is an object whose member values are all objects
as a map of records, the shape JobTech publishes its taxonomy in ({"vrDq_rUY_7PX": {"label":
…, "type": …}, …}): each member is one record, with its name put in FIELD.
A record stored with warnings (a deprecated taxonomy concept) is printed with them.
Exit status 1 if any record was rejected, 2 if some could not be stored now (retry).`,
		Example: `  hub publish --dataset jobads testdata/jobtech/job-ads.ndjson
  hub publish --dataset jobads --id-from id --quiet testdata/jobtech/job-ads.ndjson
  hub publish -d jobads schemas/jobads/examples/valid/small-ad.json schemas/jobads/examples/valid/tombstone-22884504.json
  hub publish --dataset taxonomy-concepts --map-key id --quiet testdata/jobtech/taxonomy-concepts.json`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, files []string) error {
			c, ctx, cancel, err := cf.session(cmd)
			if err != nil {
				return err
			}
			defer cancel()
			path := "/api/v1/datasets/" + url.PathEscape(dataset) + "/records"
			if idFrom != "" {
				path += "?" + url.Values{"id_from": {idFrom}}.Encode()
			}
			out := cmd.OutOrStdout()
			var batch []recordfile.Record
			var stored, dups, rejected, unavailable, warned int
			flush := func() error {
				if len(batch) == 0 {
					return nil
				}
				var body bytes.Buffer
				for _, r := range batch {
					body.Write(oneLine(r.Data))
					body.WriteByte('\n')
				}
				resp, err := c.do(ctx, http.MethodPost, path, "application/x-ndjson", body.Bytes())
				if err != nil {
					return err
				}
				defer resp.Body.Close()
				res, err := batchAnswer(resp, len(batch))
				if err != nil {
					return err
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
						if !quiet {
							fmt.Fprintf(out, "%s: %s id=%s key=%s seq=%d\n", r.Where(), o.Status, o.ID, o.Key, o.Seq)
						} else if len(o.Warnings) > 0 {
							fmt.Fprintf(out, "%s: %s with %d warning(s) id=%s key=%s\n", r.Where(), o.Status, len(o.Warnings), o.ID, o.Key)
						}
						if len(o.Warnings) > 0 {
							warned++
						}
						for _, w := range o.Warnings {
							fmt.Fprintf(out, "    warning: %s\n", w)
						}
						continue
					case wire.StatusUnavailable:
						unavailable++
					default:
						rejected++
					}
					if len(o.Violations) > 0 {
						fmt.Fprintf(out, "%s: %s: %d violation(s)\n", r.Where(), o.Status, len(o.Violations))
					} else {
						fmt.Fprintf(out, "%s: %s: %s\n", r.Where(), o.Status, o.Error)
					}
					for _, v := range o.Violations {
						fmt.Fprintf(out, "    %s\n", v)
					}
					if o.Status == wire.StatusTooLarge && mapKey == "" && recordfile.IsMap(r.Data) {
						fmt.Fprintln(out, "    hint: this document is a map of records ({key: {...}}): --map-key FIELD publishes each member as a record, its name in FIELD")
					}
				}
				batch = batch[:0]
				return nil
			}
			for _, f := range files {
				err := recordfile.ReadFileWith(f, recordfile.Options{MapKey: mapKey}, func(r recordfile.Record) error {
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
			fmt.Fprintf(out, "%d stored, %d duplicates, %d not stored", stored, dups, rejected+unavailable)
			if warned > 0 {
				fmt.Fprintf(out, ", %d with warnings", warned)
			}
			fmt.Fprintln(out)
			switch {
			case unavailable > 0:
				return exitCode(clirun.Failed)
			case rejected > 0:
				return exitCode(clirun.Refused)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&dataset, "dataset", "d", "", "dataset to publish to")
	f.StringVar(&idFrom, "id-from", "", "make each record's id from this field (or /json/pointer) and the record's content")
	f.StringVar(&mapKey, "map-key", "", "read a JSON object of objects ({key: {...}}) as one record per member, its name in this field")
	f.BoolVarP(&quiet, "quiet", "q", false, "print only the records not stored, and the summary")
	_ = cmd.MarkFlagRequired("dataset")
	cf.register(cmd)
	_ = cmd.RegisterFlagCompletionFunc("dataset", cf.datasetNames)
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
		Long: `read prints records of dataset D, one envelope per line (the API's own NDJSON; records
are data, so there is no table):
{"id","dataset","key","seq","schema_version","publisher","origin","published_at","data"}.
By default it prints every stored record; --since and --after start later, --snapshot
prints the latest record per key (keys ended by a tombstone left out). --follow keeps
printing new records until interrupted.`,
		Example: `  hub read --dataset jobads
  hub read --dataset jobads --after 2
  hub read --dataset jobads --since 2026-11-26T10:00:00Z
  hub read --dataset jobads --snapshot | jq -r .key
  hub read --dataset jobads --follow`,
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
			if follow {
				q.Set("follow", "true")
			}
			ctx, cancel := streamContext(cmd, follow)
			defer cancel()
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
	_ = cmd.RegisterFlagCompletionFunc("dataset", cf.datasetNames)
	return cmd
}

func deadLettersCmd() *cobra.Command {
	var cf clientFlags
	var dataset string
	var after uint64
	cmd := &cobra.Command{
		Use:   "deadletters --dataset D [--after SEQ] [-o table|json]",
		Short: "List the records rejected for a dataset, with the reasons",
		Long: `deadletters lists the records the hub rejected for dataset D: when, from whom, and why.
-o json prints the API's NDJSON, one dead letter per line, with the rejected bytes and
every violation.`,
		Example: `  hub deadletters --dataset jobads
  hub deadletters --dataset jobads --after 10 -o json | jq .violations`,
		Args: cobra.NoArgs,
	}
	format := outputFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		c, ctx, cancel, err := cf.session(cmd)
		if err != nil {
			return err
		}
		defer cancel()
		path := "/api/v1/datasets/" + url.PathEscape(dataset) + "/deadletters"
		if after > 0 {
			path += "?after=" + strconv.FormatUint(after, 10)
		}
		out := cmd.OutOrStdout()
		if format.json() {
			return c.stream(ctx, path, out)
		}
		var body bytes.Buffer
		if err := c.stream(ctx, path, &body); err != nil {
			return err
		}
		var list []wire.DeadLetter
		if err := eachLine(&body, func(d wire.DeadLetter) { list = append(list, d) }); err != nil {
			return err
		}
		return printTable(out, func(tw io.Writer) {
			fmt.Fprintln(tw, "SEQ\tREJECTED AT\tPUBLISHER\tVIOLATIONS\tREASON")
			for _, d := range list {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%s\n", d.Seq, d.RejectedAt.UTC().Format(timeFormat), d.Publisher, len(d.Violations), d.Reason)
			}
		})
	}
	cmd.Flags().StringVarP(&dataset, "dataset", "d", "", "dataset whose rejections to list")
	cmd.Flags().Uint64Var(&after, "after", 0, "start after this dead-letter sequence number")
	_ = cmd.MarkFlagRequired("dataset")
	cf.register(cmd)
	_ = cmd.RegisterFlagCompletionFunc("dataset", cf.datasetNames)
	return cmd
}

// timeFormat is how tables show a time: to the second, in UTC.
const timeFormat = "2006-01-02T15:04:05Z"

// eachLine decodes each NDJSON line of r into a T and hands it to fn.
func eachLine[T any](r io.Reader, fn func(T)) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 64<<20)
	for n := 1; sc.Scan(); n++ {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var v T
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			return fmt.Errorf("hub answer, line %d: %w", n, err)
		}
		fn(v)
	}
	return sc.Err()
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

// batchAnswer reads the answer to a batch of n lines: the batch on success,
// or the batch a problem document carries when some lines were refused; any
// other problem (one that stopped the batch halfway) is the error.
func batchAnswer(resp *http.Response, n int) (*problem.Batch, error) {
	if resp.StatusCode/100 == 2 {
		var b problem.Batch
		if err := json.NewDecoder(resp.Body).Decode(&b); err != nil {
			return nil, fmt.Errorf("decode publish answer: %w", err)
		}
		return &b, nil
	}
	err := problem.Decode(resp)
	var p *problem.Problem
	if errors.As(err, &p) && p.Batch != nil && len(p.Results) == n {
		return p.Batch, nil
	}
	return nil, err
}
