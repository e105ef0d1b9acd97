package cli

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/jobtech-dev/datahub/connector-kit/schema"
	"github.com/jobtech-dev/datahub/hub/internal/registry"
	"github.com/jobtech-dev/datahub/internal/clirun"
	"github.com/jobtech-dev/datahub/internal/recordfile"
	"github.com/jobtech-dev/datahub/internal/taxonomy"
)

func validateCmd() *cobra.Command {
	var dataset, schemaFile, schemasDir, taxonomyFile string
	var lim schema.Limits
	cmd := &cobra.Command{
		Use:   "validate (--dataset D | --schema FILE) FILE...",
		Short: "Validate JSON or NDJSON records offline, as the hub would",
		Long: `validate checks every record in the files against dataset D's schema (declared under
--schemas) or against a schema file, with the same checks and error format as the hub's
ingest path, and prints one line per record. Exit status 1 if any record is invalid.
No hub needs to run: it is meant for admins and for the CI of schema repositories.

Taxonomy references (the x-taxonomy keyword) are checked against the concepts of
--taxonomy FILE: JobTech's concept file as published ({concept_id: {...}}), records of the
taxonomy-concepts dataset, or its envelopes as 'hub read --dataset taxonomy-concepts'
prints them. Without it they are not checked, and the output says so. A valid record
naming a deprecated concept is printed with a warning (with --dataset, as the dataset's
taxonomy_deprecated says: a dataset that rejects them finds it invalid).`,
		Example: `  hub validate --dataset jobads schemas/jobads/examples/valid/*.json
  hub validate --dataset jobads --schemas schemas testdata/jobtech/job-ads.ndjson
  hub validate --schema schemas/taxonomy-concepts/concept.schema.json schemas/taxonomy-concepts/examples/valid/concepts.ndjson
  hub validate --dataset jobads --taxonomy testdata/jobtech/taxonomy-concepts.json testdata/jobtech/job-ads.ndjson`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, files []string) error {
			if (dataset == "") == (schemaFile == "") {
				return clirun.Usagef("give exactly one of --dataset and --schema")
			}
			var s *schema.Schema
			var ds *registry.Dataset
			var opts []schema.Option
			if taxonomyFile != "" {
				idx, err := taxonomy.LoadFile(taxonomyFile)
				if err != nil {
					return err
				}
				opts = append(opts, schema.WithTaxonomy(idx))
			}
			if dataset != "" {
				all, err := registry.LoadDir(schemasDir, opts...)
				if err != nil {
					return err
				}
				reg := registry.New(all...)
				d, ok := reg.Get(dataset)
				if !ok {
					return clirun.Usagef("dataset %q is not declared under %s", dataset, schemasDir)
				}
				ds, s = d, d.Schema
			} else {
				doc, err := os.ReadFile(schemaFile)
				if err != nil {
					return fmt.Errorf("read schema: %w", err)
				}
				if s, err = schema.Compile(schemaFile, doc, nil, opts...); err != nil {
					return err
				}
			}
			out := cmd.OutOrStdout()
			var ok, bad int
			for _, f := range files {
				err := recordfile.ReadFile(f, func(r recordfile.Record) error {
					v, viol := s.Check(r.Data, lim)
					if len(viol) == 0 && ds != nil {
						if _, kv := ds.KeyOf(v); kv != nil {
							viol = []schema.Violation{*kv}
						}
					}
					if len(viol) == 0 {
						ok++
						w := s.Warnings(v)
						if len(w) == 0 {
							fmt.Fprintf(out, "%s: valid\n", r.Where())
							return nil
						}
						fmt.Fprintf(out, "%s: valid, %d warning(s)\n", r.Where(), len(w))
						for _, x := range w {
							fmt.Fprintf(out, "    warning: %s\n", x)
						}
						return nil
					}
					bad++
					fmt.Fprintf(out, "%s: invalid: %d violation(s)\n", r.Where(), len(viol))
					for _, v := range viol {
						fmt.Fprintf(out, "    %s\n", v)
					}
					return nil
				})
				if err != nil {
					return err
				}
			}
			fmt.Fprintf(out, "%d valid, %d invalid\n", ok, bad)
			if skipped := s.UncheckedKeywords(); len(skipped) > 0 {
				fmt.Fprintf(out, "note: not checked: %s (taxonomy references); give --taxonomy FILE to check them as the hub does\n", strings.Join(skipped, ", "))
			}
			if ok+bad == 0 {
				fmt.Fprintln(out, "no records found: an empty file does not pass")
				return exitCode(clirun.Refused)
			}
			if bad > 0 {
				return exitCode(clirun.Refused)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&dataset, "dataset", "d", "", "validate against this dataset's current schema")
	f.StringVar(&schemaFile, "schema", "", "validate against this JSON Schema file")
	f.StringVar(&schemasDir, "schemas", "schemas", "folder of dataset declarations (with --dataset)")
	f.StringVar(&taxonomyFile, "taxonomy", "", "check taxonomy references (x-taxonomy) against the concepts in this file")
	f.IntVar(&lim.MaxBytes, "max-record-bytes", schema.DefaultMaxBytes, "largest record accepted, bytes")
	f.IntVar(&lim.MaxDepth, "max-depth", schema.DefaultMaxDepth, "deepest nesting accepted")
	_ = cmd.RegisterFlagCompletionFunc("dataset", localDatasetNames(&schemasDir))
	_ = cmd.MarkFlagDirname("schemas")
	return cmd
}
