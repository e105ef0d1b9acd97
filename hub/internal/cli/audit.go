package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/jobtech-dev/datahub/hub/internal/api"
	"github.com/jobtech-dev/datahub/hub/internal/audit"
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
  journalctl -u jobtech-hub -o cat | grep 'audit anchor' > anchors.log && hub audit verify --anchor anchors.log`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
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
			printReport(cmd.OutOrStdout(), rep)
			if !rep.OK {
				return exitCode(1)
			}
			return nil
		},
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
				return exitCode(1)
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
