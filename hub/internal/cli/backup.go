package cli

import (
	"context"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/jobtech-dev/datahub/hub/internal/backup"
)

func backupCmd() *cobra.Command {
	var cf clientFlags
	var out string
	cmd := &cobra.Command{
		Use:   "backup --out DIR",
		Short: "Take an online backup of the running hub into a new folder",
		Long: `backup asks the running hub, through its admin API, for a JetStream snapshot of every
stream it keeps — every dataset, the dead letters, the actors and policies buckets, the
durable subscriptions' positions, and the audit log — while it keeps serving writes, and
writes them to DIR (which must not exist or be empty): DIR/manifest.json and
DIR/streams/*.snap, mode 0600. Every record acknowledged before the backup began is in it.
The folder appears only once the backup is complete and checked against its manifest.
The backup is audited (backup.create). It holds no admin token.

Restore it, with the hub stopped, into a fresh data dir: hub restore --from DIR --data NEWDIR.`,
		Example: `  hub backup --out backups/2026-11-30
  hub backup --data /var/lib/jobtech-hub --out /var/backups/jobtech-hub/2026-11-30-0300`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := cf.client()
			if err != nil {
				return err
			}
			// A backup takes as long as it takes; Ctrl-C stops it and
			// leaves no folder behind.
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			start := time.Now()
			resp, err := c.do(ctx, http.MethodPost, "/api/v1/backup", "", nil)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return errorFrom(resp)
			}
			mt, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
			if err != nil || mt != "multipart/mixed" || params["boundary"] == "" {
				return fmt.Errorf("the hub answered %q, not a backup", resp.Header.Get("Content-Type"))
			}
			m, err := backup.Receive(resp.Body, params["boundary"], out)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "backup of hub %q written to %s in %s: %d streams, begun %s\n", m.Hub, out, time.Since(start).Round(time.Millisecond), len(m.Streams), m.Started.Format(time.RFC3339))
			return printBackup(w, m)
		},
	}
	cmd.Flags().StringVarP(&out, "out", "o", "", "new folder to write the backup to")
	_ = cmd.MarkFlagRequired("out")
	cf.register(cmd)
	return cmd
}

func restoreCmd() *cobra.Command {
	var from, data, logLevel string
	cmd := &cobra.Command{
		Use:   "restore --from DIR --data NEWDIR",
		Short: "Restore a backup into a fresh data dir (offline)",
		Long: `restore writes the backup in DIR (made by 'hub backup') into the data dir NEWDIR, which
must not exist or be empty: no hub may run on it. It checks every snapshot against the
backup's manifest before writing anything, restores each stream with the JetStream API of
an embedded server that accepts no clients, checks each restored stream's message count and
sequences against the backup, and writes the hub's stream-state record so the first start
compares with what was restored. On failure NEWDIR is emptied again.

Then start the hub on NEWDIR (hub serve --data NEWDIR ...). It creates a new admin token at
its first start: the backup holds none.`,
		Example: `  hub restore --from backups/2026-11-30 --data data-restored
  hub restore --from /var/backups/jobtech-hub/2026-11-30-0300 --data /var/lib/jobtech-hub.restored`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			ctx, cancel := context.WithTimeout(ctx, 24*time.Hour)
			defer cancel()
			res, err := backup.Restore(ctx, from, data, newLogger(cmd.ErrOrStderr(), logLevel, "text"))
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "backup of hub %q (begun %s) restored into %s: %d streams\n", res.Manifest.Hub, res.Manifest.Started.Format(time.RFC3339), data, len(res.Manifest.Streams))
			if err := printBackup(w, res.Manifest); err != nil {
				return err
			}
			for _, name := range res.Lacking {
				fmt.Fprintf(w, "WARNING: the backup of %s lacks messages its stream counted but could not load (damaged at the source); the restored hub reports them as lost at its first start (hub damage list)\n", name)
			}
			fmt.Fprintf(w, "start the hub with --data %s; it creates a new admin token at its first start\n", data)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&from, "from", "", "backup folder (made by hub backup)")
	f.StringVar(&data, "data", "", "new data dir to restore into (must not exist or be empty)")
	f.StringVar(&logLevel, "log-level", "warn", "debug, info, warn or error")
	_ = cmd.MarkFlagRequired("from")
	_ = cmd.MarkFlagRequired("data")
	return cmd
}

// printBackup lists a backup's streams.
func printBackup(w io.Writer, m backup.Manifest) error {
	return printTable(w, func(tw io.Writer) {
		fmt.Fprintln(tw, "STREAM\tKIND\tMESSAGES\tSEQUENCES\tBYTES")
		for _, s := range m.Streams {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d-%d\t%d\n", s.Name, s.Kind, s.Msgs, s.FirstSeq, s.LastSeq, s.Bytes)
		}
	})
}
