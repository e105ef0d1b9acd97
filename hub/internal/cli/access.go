package cli

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/jobtech-dev/datahub/connector-kit/creds"
	"github.com/jobtech-dev/datahub/hub/internal/actors"
	"github.com/jobtech-dev/datahub/hub/internal/policy"
)

func actorCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "actor", Short: "Create, list and revoke actor identities"}
	var cf clientFlags
	var out, natsURL string
	create := &cobra.Command{
		Use:   "create NAME --out FILE",
		Short: "Create an actor: a new nkey pair; the hub gets only the public key",
		Long: `create generates the actor's nkey pair on this machine, writes the credentials file (mode
0600) for the actor, then registers the public key with the hub (a refused registration
removes the file again; an unwritable --out registers nothing). The file holds the nkey seed
in the decorated format NATS tools read (Go: nats.NkeyOptionFromSeed(FILE); nats CLI:
--nkey FILE), the actor's name and the hub's address (--nats-url: tls://… when the hub
serves TLS), which the connector and the Go kit connect to when they are not given --hub.
Hand the file to the actor over a safe channel, with the hub's CA certificate if a private
CA signed it.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			if err := creds.CheckHubURL(natsURL); err != nil {
				return fmt.Errorf("--nats-url: %w", err)
			}
			if _, err := os.Stat(out); err == nil {
				return fmt.Errorf("%s exists: not overwriting credentials", out)
			}
			cr, pub, err := creds.New(name, natsURL)
			if err != nil {
				return err
			}
			if err := actors.ValidateNew(name, pub); err != nil {
				return err
			}
			// The credentials are written first and the actor registered
			// second: a file that cannot be written leaves nothing on the
			// hub, and a refused registration leaves no file behind. The
			// other order left an actor whose seed was lost.
			if err := cr.WriteFile(out); err != nil {
				return fmt.Errorf("actor %s not created: %w", name, err)
			}
			c, ctx, cancel, err := cf.session(cmd)
			if err != nil {
				_ = os.Remove(out)
				return err
			}
			defer cancel()
			var a actors.Actor
			if err := c.sendJSON(ctx, http.MethodPost, "/api/v1/actors", map[string]string{"name": name, "public_key": pub}, &a); err != nil {
				// Without an answer the hub may still have registered the
				// key: ask before deleting the only copy of its seed.
				var list []actors.Actor
				if lerr := c.getJSON(ctx, "/api/v1/actors", &list); lerr != nil {
					return fmt.Errorf("%w\nthe hub may or may not have registered actor %s; its credentials are kept in %s: if `hub actor list` does not show it, delete the file and try again", err, name, out)
				}
				for _, l := range list {
					if l.Name == name && l.PublicKey == pub {
						a = l
						err = nil
					}
				}
				if err != nil {
					_ = os.Remove(out)
					return err
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "actor %s created, public key %s\ncredentials: %s (mode 0600), hub %s\n", a.Name, a.PublicKey, out, natsURL)
			return nil
		},
	}
	create.Flags().StringVarP(&out, "out", "o", "", "credentials file to write")
	create.Flags().StringVar(&natsURL, "nats-url", "nats://127.0.0.1:4222", "the hub's NATS URL as actors reach it (tls://host:port with TLS; a clustered hub: every node, comma-separated), written into the credentials file")
	_ = create.MarkFlagRequired("out")
	cf.register(create)

	var lf clientFlags
	list := &cobra.Command{
		Use:   "list",
		Short: "List actors with their keys and live connections",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, ctx, cancel, err := lf.session(cmd)
			if err != nil {
				return err
			}
			defer cancel()
			var list []struct {
				Name        string `json:"name"`
				PublicKey   string `json:"public_key"`
				CreatedAt   string `json:"created_at"`
				Connections int    `json:"connections"`
			}
			if err := c.getJSON(ctx, "/api/v1/actors", &list); err != nil {
				return err
			}
			return printTable(cmd.OutOrStdout(), func(tw io.Writer) {
				fmt.Fprintln(tw, "NAME\tPUBLIC KEY\tCREATED\tCONNECTIONS")
				for _, a := range list {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%d\n", a.Name, a.PublicKey, a.CreatedAt, a.Connections)
				}
			})
		},
	}
	lf.register(list)

	var rf clientFlags
	revoke := &cobra.Command{
		Use:   "revoke NAME",
		Short: "Revoke an actor: its connections close at once and its key is refused",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, ctx, cancel, err := rf.session(cmd)
			if err != nil {
				return err
			}
			defer cancel()
			if err := c.sendJSON(ctx, http.MethodDelete, "/api/v1/actors/"+url.PathEscape(args[0]), nil, nil); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "actor %s revoked\n", args[0])
			return nil
		},
	}
	rf.register(revoke)
	cmd.AddCommand(create, list, revoke)
	return cmd
}

// policyFiles reads what `policy apply -f` names: a folder's top-level
// *.json files and groups.yaml, or one file.
func policyFiles(path string) (map[string]string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("policies: %w", err)
	}
	files := map[string]string{}
	if !fi.IsDir() {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		files[filepath.Base(path)] = string(b)
		return files, nil
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, fmt.Errorf("policies: %w", err)
	}
	for _, e := range entries {
		if e.IsDir() || (!strings.HasSuffix(e.Name(), ".json") && e.Name() != policy.GroupsFile) {
			continue
		}
		b, err := os.ReadFile(filepath.Join(path, e.Name()))
		if err != nil {
			return nil, err
		}
		files[e.Name()] = string(b)
	}
	return files, nil
}

func policyCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "policy", Short: "Apply, check and explain sharing policies"}
	var af clientFlags
	var from string
	var allowEmpty bool
	apply := &cobra.Command{
		Use:   "apply -f DIR|FILE",
		Short: "Make the files the whole policy state (atomic: on any error nothing changes)",
		Long: `apply sends the policy files (a folder's *.json and groups.yaml, or one file) to the hub,
which validates them all and puts them in force at once, cutting live connections whose
rights change. On any error nothing changes and the error names the file and the policy.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			files, err := policyFiles(from)
			if err != nil {
				return err
			}
			// Check locally first: a typo'd folder must not wipe every grant.
			bs := make(map[string][]byte, len(files))
			for k, v := range files {
				bs[k] = []byte(v)
			}
			set, err := policy.LoadFiles(bs)
			if err != nil {
				return err
			}
			if set.Len() == 0 && !allowEmpty {
				return fmt.Errorf("%s holds no policies: applying it would deny everything to everyone; give --allow-empty if that is what you want", from)
			}
			c, ctx, cancel, err := af.session(cmd)
			if err != nil {
				return err
			}
			defer cancel()
			var res struct {
				Changed   bool     `json:"changed"`
				Digest    string   `json:"digest"`
				Policies  []string `json:"policies"`
				Recut     int      `json:"recut"`
				Suspended int      `json:"subscriptions_suspended"`
				Resumed   int      `json:"subscriptions_resumed"`
				Removed   int      `json:"subscriptions_removed"`
			}
			source, err := filepath.Abs(from)
			if err != nil {
				source = from
			}
			if err := c.sendJSON(ctx, http.MethodPut, "/api/v1/policies", map[string]any{"files": files, "source": source}, &res); err != nil {
				return err
			}
			if !res.Changed {
				fmt.Fprintf(cmd.OutOrStdout(), "no change: %d policies already in force (%s)\n", len(res.Policies), res.Digest[:12])
				return nil
			}
			fmt.Fprintf(cmd.OutOrStdout(), "applied %d policies (%s); %d live connections re-authorized\n", len(res.Policies), res.Digest[:12], res.Recut)
			if res.Suspended+res.Resumed+res.Removed > 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "subscriptions: %d suspended (position kept for the grace period), %d resumed, %d removed\n", res.Suspended, res.Resumed, res.Removed)
			}
			return nil
		},
	}
	apply.Flags().StringVarP(&from, "file", "f", "policies", "policy folder or file")
	apply.Flags().BoolVar(&allowEmpty, "allow-empty", false, "allow applying a set with no policies (denies everything)")
	af.register(apply)

	var cf clientFlags
	var actor, action, dataset, ip, at string
	check := &cobra.Command{
		Use:   "check --actor A --action ACTION --dataset D",
		Short: "Say whether the policies allow an action, and which policy decided (exit 1 on deny)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, ctx, cancel, err := cf.session(cmd)
			if err != nil {
				return err
			}
			defer cancel()
			q := url.Values{"actor": {actor}, "action": {action}, "dataset": {dataset}}
			if ip != "" {
				q.Set("ip", ip)
			}
			if at != "" {
				q.Set("at", at)
			}
			var res struct {
				Allowed  bool   `json:"allowed"`
				PolicyID string `json:"policy_id"`
				Reason   string `json:"reason"`
			}
			if err := c.getJSON(ctx, "/api/v1/policies/check?"+q.Encode(), &res); err != nil {
				return err
			}
			verdict := "deny"
			if res.Allowed {
				verdict = "allow"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %s\n", verdict, res.Reason)
			if !res.Allowed {
				return exitCode(1)
			}
			return nil
		},
	}
	check.Flags().StringVar(&actor, "actor", "", "actor name")
	check.Flags().StringVar(&action, "action", "", "publish, subscribe, read-schema or register-schema")
	check.Flags().StringVar(&dataset, "dataset", "", "dataset name")
	check.Flags().StringVar(&ip, "ip", "", "source address to judge network conditions with")
	check.Flags().StringVar(&at, "at", "", "judge at this RFC 3339 time instead of now")
	for _, f := range []string{"actor", "action", "dataset"} {
		_ = check.MarkFlagRequired(f)
	}
	cf.register(check)

	var ef clientFlags
	explain := &cobra.Command{
		Use:   "explain ACTOR",
		Short: "List an actor's effective rights per dataset and the policy behind each",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, ctx, cancel, err := ef.session(cmd)
			if err != nil {
				return err
			}
			defer cancel()
			var lines []struct {
				Text string `json:"text"`
			}
			if err := c.getJSON(ctx, "/api/v1/policies/explain?actor="+url.QueryEscape(args[0]), &lines); err != nil {
				return err
			}
			for _, l := range lines {
				fmt.Fprintln(cmd.OutOrStdout(), l.Text)
			}
			return nil
		},
	}
	ef.register(explain)
	cmd.AddCommand(apply, check, explain)
	return cmd
}

func auditCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "audit", Short: "Read, verify and seal the hash-chained audit log"}
	verify, seal, anchor := auditVerifyCmd(), auditSealCmd(), auditAnchorCmd()
	var tf clientFlags
	var n int
	var follow bool
	tail := &cobra.Command{
		Use:   "tail [-n N] [-f]",
		Short: "Print the last audit entries as NDJSON",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := tf.client()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			q := url.Values{"n": {strconv.Itoa(n)}}
			if follow {
				q.Set("follow", "true")
				var stop context.CancelFunc
				ctx, stop = signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
				defer stop()
			}
			err = c.stream(ctx, "/api/v1/audit?"+q.Encode(), cmd.OutOrStdout())
			if follow && ctx.Err() != nil {
				return nil
			}
			return err
		},
	}
	tail.Flags().IntVarP(&n, "lines", "n", 20, "how many of the last entries (0 = all)")
	tail.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing new entries")
	tf.register(tail)
	cmd.AddCommand(verify, tail, seal, anchor)
	return cmd
}
