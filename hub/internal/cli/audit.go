package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/jobtech-dev/datahub/hub/internal/api"
	"github.com/jobtech-dev/datahub/hub/internal/audit"
	"github.com/jobtech-dev/datahub/internal/clirun"
)

func auditVerifyCmd() *cobra.Command {
	var f clientFlags
	var anchorFile string
	cmd := &cobra.Command{
		Use:   "verify [--anchor FILE]",
		Short: "Check the audit chain and compare it with the last anchor: a changed, removed or cut entry is reported (exit 1)",
		Long: `verify walks the whole audit log and checks its hash chain, and compares it with the hub's
last anchor (or with the last anchor in FILE: an anchor file, or log lines of the hub, e.g. from
journalctl). It names the first bad entry; breaks acknowledged by a seal are listed, not failed.`,
		Example: `  hub audit verify
  hub audit verify --anchor /mnt/offsite/hub-anchors.ndjson
  journalctl -u jobtech-hub -o cat | grep 'audit anchor' > anchors.log && hub audit verify --anchor anchors.log
  hub audit verify -o json | jq .problems`,
		Args: cobra.NoArgs,
	}
	format := outputFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		c, ctx, cancel, err := f.session(cmd)
		if err != nil {
			return err
		}
		defer cancel()
		var rep audit.Report
		if anchorFile != "" {
			a, _, err := audit.ReadLastAnchor(anchorFile, "")
			if err != nil {
				return fmt.Errorf("--anchor: %w", err)
			}
			err = c.sendJSON(ctx, http.MethodPost, "/api/v1/audit/verify", api.VerifyRequest{Anchor: &a}, &rep)
			if err != nil {
				return err
			}
		} else if err := c.getJSON(ctx, "/api/v1/audit/verify", &rep); err != nil {
			return err
		}
		if format.json() {
			if err := printJSON(cmd.OutOrStdout(), rep); err != nil {
				return err
			}
		} else {
			printReport(cmd.OutOrStdout(), rep)
		}
		if !rep.OK {
			return exitCode(clirun.Refused)
		}
		return nil
	}
	cmd.Flags().StringVar(&anchorFile, "anchor", "", "compare with the last anchor in this file instead of the hub's own")
	f.register(cmd)
	return cmd
}

// printReport writes a verify report for a person.
func printReport(out io.Writer, r audit.Report) {
	span := fmt.Sprintf("seq %d to %d", max(r.FirstSeq, 1), r.LastSeq)
	entries := fmt.Sprintf("%d entries", r.Entries)
	if r.Entries == 1 {
		entries = "1 entry"
	}
	if r.OK {
		sealed := ""
		if n := len(r.Sealed); n > 0 {
			sealed = fmt.Sprintf("; %d sealed break(s) acknowledged, listed below", n)
		}
		fmt.Fprintf(out, "audit log intact: %s (%s), head %s%s\n", entries, span, r.Head, sealed)
	} else {
		fmt.Fprintf(out, "audit log BROKEN: %s (%s), %d problem(s); first bad entry: seq %d\n", entries, span, len(r.Problems), r.FirstBad)
		for _, p := range r.Problems {
			fmt.Fprintf(out, "  seq %d [%s]: %s\n", p.Seq, p.Code, p.Message)
		}
	}
	if c := r.Checkpoint; c != nil {
		fmt.Fprintf(out, "  retention: entries %d to %d (%d) removed under the signed checkpoint at seq %d\n", c.TrimmedFrom, c.TrimmedTo, c.Removed, c.Seq)
	}
	if a := r.Anchor; a != nil {
		fmt.Fprintf(out, "  anchor: %s by %s: %s\n", a.Anchor, a.Anchor.Hub, a.Status)
	} else {
		fmt.Fprintln(out, "  anchor: none to compare with")
	}
	for _, s := range r.Sealed {
		fmt.Fprintf(out, "  SEALED break, acknowledged at seq %d by %s on %s: %q\n", s.Seal, s.By, s.Time.UTC().Format(time.RFC3339), s.Reason)
		for _, p := range s.Acknowledged {
			fmt.Fprintf(out, "    seq %d [%s]: %s\n", p.Seq, p.Code, p.Message)
		}
	}
}

func auditSealCmd() *cobra.Command {
	var f clientFlags
	var reason string
	cmd := &cobra.Command{
		Use:   "seal --reason TEXT",
		Short: "Acknowledge the audit log's present breaks with a signed seal entry; the chain is trusted again from it",
		Long: `seal is the way forward after a break verify reports (a crash, a damaged disk, an old bug):
it appends an audited, signed entry that lists every present problem with its evidence and
your reason. verify then reports those breaks as sealed, not as failures; the damaged entries
stay as evidence, and any other or later change to the log still fails verify.`,
		Example: `  hub audit verify
  hub audit seal --reason "entries 812-815 lost in the disk failure of 2 March, ticket OPS-4411"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, ctx, cancel, err := f.session(cmd)
			if err != nil {
				return err
			}
			defer cancel()
			body, _ := json.Marshal(api.SealRequest{Reason: reason})
			resp, err := c.do(ctx, http.MethodPost, "/api/v1/audit/seal", "application/json", body)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			out := cmd.OutOrStdout()
			switch resp.StatusCode {
			case http.StatusCreated:
			case http.StatusConflict:
				fmt.Fprintln(out, "nothing to seal: the audit log verifies intact")
				return exitCode(clirun.Refused)
			default:
				return errorFrom(resp)
			}
			var res api.SealResult
			if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
				return fmt.Errorf("seal answer: %w", err)
			}
			fmt.Fprintf(out, "sealed at seq %d: %d problems acknowledged, the first at seq %d\n", res.Seal.Seq, len(res.Acknowledged.Problems), res.Acknowledged.FirstBad)
			for _, p := range res.Acknowledged.Problems {
				fmt.Fprintf(out, "  seq %d [%s]: %s\n", p.Seq, p.Code, p.Message)
			}
			if res.Anchor != nil {
				fmt.Fprintf(out, "anchored: %s\n", res.Anchor)
			} else if res.AnchorError != "" {
				fmt.Fprintf(out, "not anchored yet: %s\n", res.AnchorError)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why the break is acknowledged (kept in the seal entry)")
	_ = cmd.MarkFlagRequired("reason")
	f.register(cmd)
	return cmd
}

func auditAnchorCmd() *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{
		Use:     "anchor",
		Short:   "Print the hub's last signed anchor of the audit chain as one JSON line",
		Long:    "anchor prints the last anchor, to keep a copy somewhere the hub cannot write (verify --anchor reads it back).",
		Example: `  hub audit anchor >> /mnt/offsite/hub-anchors.ndjson`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, ctx, cancel, err := f.session(cmd)
			if err != nil {
				return err
			}
			defer cancel()
			var a audit.Anchor
			if err := c.getJSON(ctx, "/api/v1/audit/anchor", &a); err != nil {
				return err
			}
			b, _ := json.Marshal(a)
			fmt.Fprintln(cmd.OutOrStdout(), string(b))
			return nil
		},
	}
	f.register(cmd)
	return cmd
}

func auditTailCmd() *cobra.Command {
	var tf clientFlags
	var n int
	var follow bool
	cmd := &cobra.Command{
		Use:   "tail [-n N] [-f] [-o table|json]",
		Short: "List the last audit entries: who changed what, who was refused, which grants expired",
		Long: `tail lists the last N audit entries (0: all), one per line with its time, sequence, kind,
actor, subject and detail; --follow keeps printing new ones until interrupted. -o json
prints the API's NDJSON: every entry whole, with its hash and the previous entry's.`,
		Example: `  hub audit tail -n 20
  hub audit tail -n 0 -o json | jq 'select(.kind == "policy.apply")'
  hub audit tail --follow`,
		Args: cobra.NoArgs,
	}
	format := outputFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		c, err := tf.client()
		if err != nil {
			return err
		}
		q := url.Values{"n": {strconv.Itoa(n)}}
		if follow {
			q.Set("follow", "true")
		}
		ctx, cancel := streamContext(cmd, follow)
		defer cancel()
		out := cmd.OutOrStdout()
		w := out
		var pw *io.PipeWriter
		done := make(chan error, 1)
		if !format.json() {
			// Rows are printed as entries arrive, so a follower sees them
			// at once: fixed-width columns instead of a tabwriter.
			var pr *io.PipeReader
			pr, pw = io.Pipe()
			w = pw
			header := func() {
				fmt.Fprintf(out, "%-20s  %6s  %-24s  %-18s  %-20s  %s\n", "TIME", "SEQ", "KIND", "ACTOR", "SUBJECT", "DETAIL")
			}
			go func() {
				rows := 0
				err := eachLine(pr, func(e audit.Entry) {
					if rows++; rows == 1 {
						header()
					}
					fmt.Fprintf(out, "%-20s  %6d  %-24s  %-18s  %-20s  %s\n", e.Time.UTC().Format(timeFormat), e.Seq, e.Kind, e.Actor, e.Subject, detail(e.Detail))
				})
				_ = pr.CloseWithError(err)
				if err == nil && rows == 0 {
					err = errNoRows
				}
				done <- err
			}()
		}
		err = c.stream(ctx, "/api/v1/audit?"+q.Encode(), w)
		if pw != nil {
			_ = pw.Close()
			perr := <-done
			if errors.Is(perr, errNoRows) {
				perr = nil
				if err == nil {
					fmt.Fprintln(out, "no audit entries")
				}
			}
			if err == nil {
				err = perr
			}
		}
		if follow && ctx.Err() != nil {
			return nil
		}
		return err
	}
	cmd.Flags().IntVarP(&n, "lines", "n", 20, "how many of the last entries (0 = all)")
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing new entries")
	tf.register(cmd)
	return cmd
}

// errNoRows tells a table printer's caller that the stream held nothing.
var errNoRows = errors.New("no rows")

// detailWidth bounds an audit entry's detail in a table row; -o json has
// it whole.
const detailWidth = 120

// detail is an entry's detail on one line for a table: compact JSON, a
// string without its quotes, cut at detailWidth.
func detail(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		var b bytes.Buffer
		if json.Compact(&b, raw) != nil || b.String() == "null" {
			return "-"
		}
		s = b.String()
	}
	if r := []rune(s); len(r) > detailWidth {
		return string(r[:detailWidth-1]) + "…"
	}
	return s
}
