package cli

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/jobtech-dev/datahub/connector-kit/creds"
	"github.com/jobtech-dev/datahub/hub/internal/actors"
	"github.com/jobtech-dev/datahub/hub/internal/api"
	"github.com/jobtech-dev/datahub/hub/internal/policy"
	"github.com/jobtech-dev/datahub/internal/clirun"
)

func actorCmd() *cobra.Command {
	cmd := clirun.Group(&cobra.Command{
		Use:   "actor",
		Short: "Create, list and revoke actor identities",
		Example: `  hub actor create jobbland --out jobbland.nk
  hub actor list
  hub actor revoke jobbland`,
	})
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
		Example: `  hub actor create jobbland --out jobbland.nk
  hub actor create matchwise --out matchwise.nk --nats-url tls://hub.example.org:4222 --hub-url https://hub.example.org:8443 --ca ca.pem`,
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
			if err := c.sendJSON(ctx, http.MethodPost, "/api/v1/actors", api.NewActorRequest{Name: name, PublicKey: pub}, &a); err != nil {
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
	create.Flags().StringVar(&out, "out", "", "credentials file to write")
	create.Flags().StringVar(&natsURL, "nats-url", "nats://127.0.0.1:4222", "the hub's NATS URL as actors reach it (tls://host:port with TLS; a clustered hub: every node, comma-separated), written into the credentials file")
	_ = create.MarkFlagRequired("out")
	cf.register(create)

	var lf clientFlags
	list := &cobra.Command{
		Use:   "list [-o table|json]",
		Short: "List actors with their keys and live connections",
		Example: `  hub actor list
  hub actor list -o json | jq -r '.[] | select(.connections > 0) | .name'`,
		Args: cobra.NoArgs,
	}
	listFormat := outputFlag(list)
	list.RunE = func(cmd *cobra.Command, _ []string) error {
		c, ctx, cancel, err := lf.session(cmd)
		if err != nil {
			return err
		}
		defer cancel()
		var list []api.ActorInfo
		if err := c.getJSON(ctx, "/api/v1/actors", &list); err != nil {
			return err
		}
		if listFormat.json() {
			return printJSON(cmd.OutOrStdout(), list)
		}
		return printTable(cmd.OutOrStdout(), func(tw io.Writer) {
			fmt.Fprintln(tw, "NAME\tPUBLIC KEY\tCREATED\tCONNECTIONS")
			for _, a := range list {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\n", a.Name, a.PublicKey, a.CreatedAt.UTC().Format(timeFormat), a.Connections)
			}
		})
	}
	lf.register(list)

	var rf clientFlags
	revoke := &cobra.Command{
		Use:     "revoke NAME",
		Short:   "Revoke an actor: its connections close at once and its key is refused",
		Example: `  hub actor revoke jobbland`,
		Args:    cobra.ExactArgs(1),
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
	revoke.ValidArgsFunction = firstArg(rf.actorNames)
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
	cmd := clirun.Group(&cobra.Command{
		Use:   "policy",
		Short: "Apply, list, check and explain sharing policies",
		Example: `  hub policy apply -f policies/
  hub policy list
  hub policy check --actor yrkeshogskolan --action subscribe --dataset jobads
  hub policy explain ifau`,
	})
	cmd.AddCommand(policyApplyCmd(), policyListCmd(), policyCheckCmd(), policyExplainCmd())
	return cmd
}

func policyApplyCmd() *cobra.Command {
	var af clientFlags
	var from string
	var allowEmpty bool
	apply := &cobra.Command{
		Use:   "apply -f DIR|FILE",
		Short: "Make the files the whole policy state (atomic: on any error nothing changes)",
		Long: `apply sends the policy files (a folder's *.json and groups.yaml, or one file) to the hub,
which validates them all and puts them in force at once, cutting live connections whose
rights change. On any error nothing changes and the error names the file and the policy
(exit status 1). A policy naming an actor or a dataset the hub does not know still
applies (an actor may be created later), with a warning naming it.`,
		Example: `  hub policy apply -f policies/
  hub policy apply -f policies/research.json`,
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
				return clirun.Refusal(err)
			}
			if set.Len() == 0 && !allowEmpty {
				return clirun.Usagef("%s holds no policies: applying it would deny everything to everyone; give --allow-empty if that is what you want", from)
			}
			c, ctx, cancel, err := af.session(cmd)
			if err != nil {
				return err
			}
			defer cancel()
			source, err := filepath.Abs(from)
			if err != nil {
				source = from
			}
			var res api.ApplyPoliciesResult
			if err := c.sendJSON(ctx, http.MethodPut, "/api/v1/policies", api.ApplyPoliciesRequest{Files: files, Source: source}, &res); err != nil {
				return err
			}
			for _, w := range res.Warnings {
				fmt.Fprintln(cmd.ErrOrStderr(), "warning:", w)
			}
			out := cmd.OutOrStdout()
			if !res.Changed {
				fmt.Fprintf(out, "no change: %d policies already in force (%s)\n", len(res.Policies), short(res.Digest))
				return nil
			}
			fmt.Fprintf(out, "applied %d policies (%s); %d live connections re-authorized\n", len(res.Policies), short(res.Digest), res.Recut)
			if res.SubscriptionsSuspended+res.SubscriptionsResumed+res.SubscriptionsRemoved > 0 {
				fmt.Fprintf(out, "subscriptions: %d suspended (position kept for the grace period), %d resumed, %d removed\n",
					res.SubscriptionsSuspended, res.SubscriptionsResumed, res.SubscriptionsRemoved)
			}
			return nil
		},
	}
	apply.Flags().StringVarP(&from, "file", "f", "policies", "policy folder or file")
	apply.Flags().BoolVar(&allowEmpty, "allow-empty", false, "allow applying a set with no policies (denies everything)")
	af.register(apply)
	return apply
}

// short is a digest's first 12 hex digits.
func short(digest string) string { return digest[:min(12, len(digest))] }

func policyListCmd() *cobra.Command {
	var lf clientFlags
	cmd := &cobra.Command{
		Use:     "list [-o table|json]",
		Aliases: []string{"show"},
		Short:   "List the policies in force, and how and when they were applied",
		Long: `list prints the policies in force, one per line with its effect, subjects, actions,
resources and file, then the set's digest and how it was applied (from the policies folder
at a start, or through the API, by whom and when). -o json prints the API's answer: the
policy ids, every file's content, the digest and the origin.`,
		Example: `  hub policy list
  hub policy show -o json | jq -r '.files["groups.yaml"]'`,
		Args: cobra.NoArgs,
	}
	format := outputFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		c, ctx, cancel, err := lf.session(cmd)
		if err != nil {
			return err
		}
		defer cancel()
		var st api.PolicyState
		if err := c.getJSON(ctx, "/api/v1/policies", &st); err != nil {
			return err
		}
		out := cmd.OutOrStdout()
		if format.json() {
			return printJSON(out, st)
		}
		files := make(map[string][]byte, len(st.Files))
		for k, v := range st.Files {
			files[k] = []byte(v)
		}
		set, err := policy.LoadFiles(files)
		if err != nil {
			return fmt.Errorf("the hub's policy files do not load here: %w", err)
		}
		err = printTable(out, func(tw io.Writer) {
			fmt.Fprintln(tw, "ID\tEFFECT\tSUBJECTS\tACTIONS\tRESOURCES\tCONDITIONS\tFILE")
			for _, id := range set.PolicyIDs() {
				p, _ := set.Policy(id)
				conds := slices.Sorted(func(yield func(string) bool) {
					for k := range p.GetConditions() {
						if !yield(k) {
							return
						}
					}
				})
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", id, p.GetEffect(), strings.Join(p.GetSubjects(), ","),
					strings.Join(p.GetActions(), ","), strings.Join(p.GetResources(), ","), orDash(strings.Join(conds, ",")), set.File(id))
			}
		})
		if err != nil {
			return err
		}
		o := st.Origin
		fmt.Fprintf(out, "\n%d policies, digest %s", len(st.Policies), short(st.Digest))
		if o.Route != "" {
			fmt.Fprintf(out, ", applied %s through the %s by %s", o.At.UTC().Format(timeFormat), o.Route, o.By)
			if o.Source != "" {
				fmt.Fprintf(out, " from %s", o.Source)
			}
		}
		fmt.Fprintln(out)
		return nil
	}
	lf.register(cmd)
	return cmd
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func policyCheckCmd() *cobra.Command {
	var cf clientFlags
	var actor, action, dataset, ip, at string
	check := &cobra.Command{
		Use:   "check --actor A --action ACTION --dataset D [-o table|json]",
		Short: "Say whether the policies allow an action, and which policy decided (exit 1 on deny)",
		Long: `check asks the hub whether actor A may do ACTION (publish, subscribe, read-schema or
register-schema) on dataset D now (or --at a time, from --ip an address), and which policy
decided. Exit status 0 on allow, 1 on deny; an unknown action or dataset is a usage error
(exit 2), never a deny.`,
		Example: `  hub policy check --actor jobbland --action publish --dataset jobads
  hub policy check --actor ifau --action subscribe --dataset jobads --at 2027-07-01T00:00:00Z
  hub policy check --actor matchwise --action subscribe --dataset jobads --ip 10.1.2.3 -o json`,
		Args: cobra.NoArgs,
	}
	format := outputFlag(check)
	check.RunE = func(cmd *cobra.Command, _ []string) error {
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
		var res api.CheckResult
		if err := c.getJSON(ctx, "/api/v1/policies/check?"+q.Encode(), &res); err != nil {
			return err
		}
		for _, w := range res.Warnings {
			fmt.Fprintln(cmd.ErrOrStderr(), "warning:", w)
		}
		if format.json() {
			if err := printJSON(cmd.OutOrStdout(), res); err != nil {
				return err
			}
		} else {
			verdict := "deny"
			if res.Allowed {
				verdict = "allow"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %s\n", verdict, res.Reason)
		}
		if !res.Allowed {
			return exitCode(clirun.Refused)
		}
		return nil
	}
	f := check.Flags()
	f.StringVar(&actor, "actor", "", "actor name")
	f.StringVar(&action, "action", "", "publish, subscribe, read-schema or register-schema")
	f.StringVar(&dataset, "dataset", "", "dataset name")
	f.StringVar(&ip, "ip", "", "source address to judge network conditions with")
	f.StringVar(&at, "at", "", "judge at this RFC 3339 time instead of now")
	for _, f := range []string{"actor", "action", "dataset"} {
		_ = check.MarkFlagRequired(f)
	}
	cf.register(check)
	_ = check.RegisterFlagCompletionFunc("actor", cf.actorNames)
	_ = check.RegisterFlagCompletionFunc("action", actionNames)
	_ = check.RegisterFlagCompletionFunc("dataset", cf.datasetNames)
	return check
}

func policyExplainCmd() *cobra.Command {
	var ef clientFlags
	var dataset, action string
	explain := &cobra.Command{
		Use:   "explain ACTOR [--dataset D] [--action ACTION] [-o table|json]",
		Short: "List an actor's effective rights per dataset and the policy behind each",
		Long: `explain lists, for every dataset (or only --dataset D) and action (or only --action),
whether ACTOR may do it now, the deciding policy and its conditions, and the conditional
policies that would decide otherwise at another time or from another network. An unknown
action or dataset is a usage error (exit 2).`,
		Example: `  hub policy explain ifau
  hub policy explain matchwise --dataset jobads
  hub policy explain jobbland --action publish -o json`,
		Args: cobra.ExactArgs(1),
	}
	format := outputFlag(explain)
	explain.RunE = func(cmd *cobra.Command, args []string) error {
		c, ctx, cancel, err := ef.session(cmd)
		if err != nil {
			return err
		}
		defer cancel()
		q := url.Values{"actor": {args[0]}}
		if dataset != "" {
			q.Set("dataset", dataset)
		}
		if action != "" {
			q.Set("action", action)
		}
		var lines []api.ExplainLine
		if err := c.getJSON(ctx, "/api/v1/policies/explain?"+q.Encode(), &lines); err != nil {
			return err
		}
		out := cmd.OutOrStdout()
		if format.json() {
			return printJSON(out, lines)
		}
		return printTable(out, func(tw io.Writer) {
			fmt.Fprintln(tw, "DATASET\tACTION\tDECISION\tPOLICY\tWHY")
			for _, l := range lines {
				verdict := "deny"
				if l.Allowed {
					verdict = "allow"
				}
				why := append(slices.Clone(l.Conditions), l.Pending...)
				if l.PolicyID == "" {
					why = append([]string{l.Reason}, why...)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", l.Dataset, l.Action, verdict, orDash(l.PolicyID), orDash(strings.Join(why, "; ")))
			}
		})
	}
	explain.Flags().StringVar(&dataset, "dataset", "", "only this dataset")
	explain.Flags().StringVar(&action, "action", "", "only this action")
	ef.register(explain)
	explain.ValidArgsFunction = firstArg(ef.actorNames)
	_ = explain.RegisterFlagCompletionFunc("dataset", ef.datasetNames)
	_ = explain.RegisterFlagCompletionFunc("action", actionNames)
	return explain
}

func auditCmd() *cobra.Command {
	cmd := clirun.Group(&cobra.Command{
		Use:   "audit",
		Short: "Read, verify and seal the hash-chained audit log",
		Example: `  hub audit tail -n 20
  hub audit verify
  hub audit anchor`,
	})
	cmd.AddCommand(auditVerifyCmd(), auditTailCmd(), auditSealCmd(), auditAnchorCmd())
	return cmd
}
