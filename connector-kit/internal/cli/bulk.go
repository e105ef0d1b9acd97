package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/jobtech-dev/datahub/connector-kit/kit"
	"github.com/jobtech-dev/datahub/internal/clirun"
	"github.com/jobtech-dev/datahub/internal/recordfile"
	"github.com/jobtech-dev/datahub/internal/recordid"
)

// importChunk is how many records one pipelined batch carries.
const importChunk = 500

// importInput is one input of `connector import`: a file, a pipe or
// standard input.
type importInput struct {
	name    string // in messages: the path, or "stdin"
	idName  string // in record ids: the base name, "stdin" for standard input
	regular bool   // a regular file: it can be read twice (to count first)
	read    func(fn func(recordfile.Record) error) error
}

func openInput(path string, stdin io.Reader, o recordfile.Options) (importInput, error) {
	if path == "-" {
		return importInput{name: "stdin", idName: "stdin", read: func(fn func(recordfile.Record) error) error {
			return recordfile.ReadStreamWith("stdin", stdin, o, fn)
		}}, nil
	}
	st, err := os.Stat(path)
	if err != nil {
		return importInput{}, fmt.Errorf("records: %w", err)
	}
	return importInput{name: path, idName: filepath.Base(path), regular: st.Mode().IsRegular(), read: func(fn func(recordfile.Record) error) error {
		return recordfile.ReadFileWith(path, o, fn)
	}}, nil
}

func importCmd() *cobra.Command {
	var hf hubFlags
	var dataset, idFrom, mapKey string
	var quiet bool
	cmd := &cobra.Command{
		Use:   "import --dataset D FILE... (- for standard input)",
		Short: "Bulk-publish JSON or NDJSON files or a pipe, with progress and a summary",
		Long: `import publishes every record of the inputs to dataset D straight to the hub, pipelined,
then prints a summary; each rejected record is printed with its file:line and violations.
Exit status 1 if any record was rejected or the sharing policies do not let the actor
publish to D; 2 for an unknown dataset or a hub that cannot be reached.

An input is a file, a named pipe, or - (standard input). A .ndjson or .jsonl name means one
record per line, a .json name one document (a record or an array of them); any other name,
and standard input, is told by its content. With --map-key FIELD a JSON document that is
an object whose member values are all objects is a map of records, the shape JobTech
publishes its taxonomy in ({"vrDq_rUY_7PX": {"label": …, "type": …}, …}): each member is
one record, with its name put in FIELD. Every input is read once, except regular files,
which are counted first so the progress bar knows the total; for a pipe a spinner shows the
count and the rate instead. The progress display is drawn only when standard error is a
terminal (never with --quiet).

Each record's id comes from its content, so running the same import again after a failure
stores nothing twice (the hub answers duplicate for what it has): by default the input's
name, the line and a hash of the record (recordid.FromLine: "ads.ndjson:12:3fa4…"), or with
--id-from FIELD the dataset, that field's value and the hash ("jobads:22884504:3fa4…", the
same id the sidecar's ?id_from= and the file source's id_from make). The default tells two
identical lines apart, so a record repeated on purpose (removed, added, removed again) is
stored each time; run it again the same way (same file name, or - again) to get the same ids.`,
		Example: `  connector import --dataset jobads --credentials jobbland.nk testdata/jobtech/job-ads.ndjson
  cat testdata/jobtech/job-ads.ndjson | connector import --dataset jobads --credentials jobbland.nk -
  connector import --dataset jobads --credentials jobbland.nk --id-from id testdata/jobtech/job-ads.ndjson
  connector import -d taxonomy-concepts --credentials arbetsformedlingen.nk --map-key id -q testdata/jobtech/taxonomy-concepts.json
  connector import --dataset jobads --credentials jobbland.nk --hub tls://hub.example.org:4222 --ca ca.pem testdata/jobtech/job-ads.ndjson`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, files []string) (err error) {
			defer func() { err = refusal(err) }()
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			var inputs []importInput
			countable := true
			for _, f := range files {
				in, err := openInput(f, cmd.InOrStdin(), recordfile.Options{MapKey: mapKey})
				if err != nil {
					return err
				}
				inputs = append(inputs, in)
				countable = countable && in.regular
			}
			c, err := hf.dial(ctx, "connector-import")
			if err != nil {
				return err
			}
			defer c.Close()
			total := -1 // not known ahead: a spinner
			if countable {
				total = 0
				for _, in := range inputs {
					if err := in.read(func(recordfile.Record) error { total++; return nil }); err != nil {
						return err
					}
				}
			}
			out := cmd.OutOrStdout()
			bar := newProgress(cmd.ErrOrStderr(), total, quiet)
			var read, stored, dups, rejected, warned int
			start := time.Now()
			var chunk []recordfile.Record
			var ids []string
			refuse := func(r recordfile.Record, why string, lines ...string) {
				rejected++
				bar.clear()
				fmt.Fprintf(out, "%s: rejected: %s\n", r.Where(), why)
				for _, l := range lines {
					fmt.Fprintf(out, "    %s\n", l)
				}
			}
			flush := func() error {
				if len(chunk) == 0 {
					return nil
				}
				recs := make([]kit.BatchRecord, len(chunk))
				for i, r := range chunk {
					recs[i] = kit.BatchRecord{ID: ids[i], Data: r.Data}
				}
				res, err := c.PublishBatch(ctx, dataset, recs)
				if err != nil {
					return err
				}
				for i, r := range res {
					var ve *kit.ValidationError
					if len(r.Warnings) > 0 {
						warned++
						bar.clear()
						fmt.Fprintf(out, "%s: stored with %d warning(s)\n", chunk[i].Where(), len(r.Warnings))
						for _, w := range r.Warnings {
							fmt.Fprintf(out, "    warning: %s\n", w)
						}
					}
					switch {
					case r.Err == nil && r.Duplicate:
						dups++
					case r.Err == nil:
						stored++
					case errors.As(r.Err, &ve):
						var vs []string
						for _, v := range ve.Violations {
							vs = append(vs, v.String())
						}
						refuse(chunk[i], fmt.Sprintf("%d violation(s)", len(vs)), append(vs, mapHint(chunk[i].Data, mapKey, vs)...)...)
					case errors.Is(r.Err, kit.ErrConflict), errors.Is(r.Err, kit.ErrTooLarge):
						refuse(chunk[i], r.Err.Error(), mapHint(chunk[i].Data, mapKey, []string{"maxBytes"})...)
					default:
						return fmt.Errorf("%s: %w\n%d records stored so far; run the same command again: what is stored answers duplicate", chunk[i].Where(), r.Err, stored+dups)
					}
				}
				bar.describe(fmt.Sprintf("importing (%d rejected)", rejected))
				bar.add(len(chunk))
				chunk, ids = chunk[:0], ids[:0]
				return nil
			}
			for _, in := range inputs {
				err := in.read(func(r recordfile.Record) error {
					read++
					id := recordid.FromLine(in.idName, r.Line, r.Data)
					if idFrom != "" {
						var err error
						if id, err = recordid.FromField(dataset, idFrom, r.Data); err != nil {
							refuse(r, err.Error())
							return nil
						}
					}
					chunk, ids = append(chunk, r), append(ids, id)
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
			bar.finish()
			el := time.Since(start)
			fmt.Fprintf(out, "%d records in %s (%.0f records/s): %d stored, %d duplicates, %d rejected",
				read, el.Round(time.Millisecond), float64(read)/el.Seconds(), stored, dups, rejected)
			if warned > 0 {
				fmt.Fprintf(out, ", %d with warnings", warned)
			}
			fmt.Fprintln(out)
			if rejected > 0 {
				return exitCode(clirun.Refused)
			}
			return nil
		},
	}
	f := cmd.Flags()
	hf.register(cmd)
	f.StringVarP(&dataset, "dataset", "d", "", "dataset to publish to")
	f.StringVar(&idFrom, "id-from", "", "make record ids from this field (or JSON pointer) and the record's hash")
	f.StringVar(&mapKey, "map-key", "", "read a JSON object of objects ({key: {...}}) as one record per member, its name in this field")
	f.BoolVarP(&quiet, "quiet", "q", false, "no progress display")
	_ = cmd.MarkFlagRequired("dataset")
	_ = cmd.RegisterFlagCompletionFunc("dataset", hf.datasetNames)
	return cmd
}

// progress is the import's progress display: a bar when the total is
// known, a spinner with the count and the rate when it is not, drawn only
// on a terminal. Its methods do nothing when it is not drawn.
type progress struct {
	bar *progressbar.ProgressBar
	w   io.Writer
}

func newProgress(w io.Writer, total int, quiet bool) progress {
	if quiet || !isTerminal(w) {
		return progress{}
	}
	return progress{w: w, bar: progressbar.NewOptions(total, progressbar.OptionSetWriter(w), progressbar.OptionShowCount(),
		progressbar.OptionShowIts(), progressbar.OptionSetItsString("records"), progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionSetDescription("importing"), progressbar.OptionSpinnerType(14))}
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func (p progress) add(n int) {
	if p.bar != nil {
		_ = p.bar.Add(n)
	}
}

func (p progress) describe(s string) {
	if p.bar != nil {
		p.bar.Describe(s)
	}
}

func (p progress) clear() {
	if p.bar != nil {
		_ = p.bar.Clear()
	}
}

func (p progress) finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
		fmt.Fprintln(p.w)
	}
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

// mapHint suggests --map-key for a record refused as too large that is a
// map of records (JobTech's taxonomy file read as one record).
func mapHint(data []byte, mapKey string, why []string) []string {
	if mapKey != "" || !recordfile.IsMap(data) {
		return nil
	}
	for _, w := range why {
		if strings.Contains(w, "maxBytes") {
			return []string{"hint: this document is a map of records ({key: {...}}): --map-key FIELD publishes each member as a record, its name in FIELD"}
		}
	}
	return nil
}
