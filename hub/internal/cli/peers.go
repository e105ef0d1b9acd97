package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/jobtech-dev/datahub/connector-kit/creds"
	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/hub/internal/actors"
	"github.com/jobtech-dev/datahub/hub/internal/api"
	"github.com/jobtech-dev/datahub/hub/internal/federation"
	"github.com/jobtech-dev/datahub/internal/clirun"
	"github.com/jobtech-dev/datahub/internal/pemfile"
)

const peerLong = `Hubs share chosen datasets with peer hubs. The giving hub creates an identity for the
taking hub (peer create: "hub:NAME" in its sharing policies, which decide what it may take,
action subscribe, exactly as for actors) and hands its admin the credentials file. The taking
hub links to the giving hub with it (peer add) and chooses which granted datasets it takes,
each validated against its own schema on arrival. Name a peer after the hub's own name
(hub serve --name): records carry the names of the hubs they crossed.`

func peerCmd() *cobra.Command {
	cmd := clirun.Group(&cobra.Command{
		Use:   "peer",
		Short: "Share datasets with peer hubs: identities for hubs that take from this one, links to hubs this one takes from",
		Long:  peerLong,
		Example: `  hub peer create regional --out regional.nk --nats-url tls://hub.af.example:4222
  hub peer add national tls://hub.af.example:4222 --credentials regional.nk --dataset jobads --ca af-ca.pem
  hub peer list`,
	})
	cmd.AddCommand(peerCreateCmd(), peerKeygenCmd(), peerRevokeCmd(), peerAddCmd(), peerRemoveCmd(), peerListCmd(), peerAnchorCmd())
	return cmd
}

// peerCreds is the credentials file of peer hub name: its identity token
// and a fresh key pair.
func peerCreds(name, natsURL string) (creds.Credentials, string, error) {
	if !wire.ValidName(name) {
		return creds.Credentials{}, "", clirun.Usagef("peer hub name %q must match [a-z][a-z0-9-]{0,62} (name it after the hub: its --name)", name)
	}
	if err := creds.CheckHubURL(natsURL); err != nil {
		return creds.Credentials{}, "", clirun.Usagef("--nats-url: %v", err)
	}
	return creds.New(wire.PeerActor(name), natsURL)
}

func peerCreateCmd() *cobra.Command {
	var cf clientFlags
	var out, natsURL, publicKey string
	cmd := &cobra.Command{
		Use:   "create NAME (--out FILE | --public-key KEY)",
		Short: "Let a peer hub take from this one: an identity hub:NAME for its link",
		Long: `create makes the identity a peer hub links to this hub as; the sharing policies name it
"hub:NAME" (subject), and what they let it subscribe to is what it may take. With --out the
key pair is generated here and the credentials file (mode 0600) is written first, then the
public key registered: hand the file to the peer's admin over a safe channel, with this
hub's CA certificate if a private CA signed it. With --public-key the peer's admin
generated the key pair (hub peer keygen) and only sends the public key. Either way this
hub keeps only the public key.`,
		Example: `  hub peer create regional --out regional.nk --nats-url tls://hub.af.example:4222
  hub peer create regional --public-key UDXU4RCSJNZOIQHZNWXHXORDPRTGNJAHAHFRGZNEEJCPQTT2M7NLCNF4`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			if (out == "") == (publicKey == "") {
				return clirun.Usagef("give --out FILE (a new key pair, credentials written there) or --public-key KEY (the peer made its own)")
			}
			var cr creds.Credentials
			pub := publicKey
			if out != "" {
				if _, err := os.Stat(out); err == nil {
					return fmt.Errorf("%s exists: not overwriting credentials", out)
				}
				var err error
				if cr, pub, err = peerCreds(name, natsURL); err != nil {
					return err
				}
			}
			if err := actors.ValidateNewPeer(name, pub); err != nil {
				return clirun.Usage(err)
			}
			if out != "" {
				// Written first, registered second, as for actors: a
				// refused registration leaves no file, an unwritable file
				// registers nothing.
				if err := cr.WriteFile(out); err != nil {
					return fmt.Errorf("peer hub %s not created: %w", name, err)
				}
			}
			c, ctx, cancel, err := cf.session(cmd)
			if err != nil {
				removeIf(out)
				return err
			}
			defer cancel()
			var id api.PeerIdentity
			if err := c.sendJSON(ctx, http.MethodPost, "/api/v1/peers/"+url.PathEscape(name)+"/identity", api.NewPeerIdentityRequest{PublicKey: pub}, &id); err != nil {
				var p api.PeerInfo
				if lerr := c.getJSON(ctx, "/api/v1/peers/"+url.PathEscape(name), &p); lerr == nil && p.Identity != nil && p.Identity.PublicKey == pub {
					id = *p.Identity // registered; the answer was lost
				} else {
					removeIf(out)
					return err
				}
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "peer hub %s created (policies name it %s), public key %s\n", name, id.Subject, id.PublicKey)
			if out != "" {
				fmt.Fprintf(w, "credentials: %s (mode 0600), hub %s: hand them to the admin of %s for 'hub peer add'\n", out, natsURL, name)
			}
			fmt.Fprintf(w, "it takes what the policies let %s subscribe to (hub policy explain %s)\n", id.Subject, id.Subject)
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "credentials file to write for the peer hub's admin")
	cmd.Flags().StringVar(&natsURL, "nats-url", "nats://127.0.0.1:4222", "this hub's NATS URL as the peer reaches it (tls://host:port with TLS), written into the credentials file")
	cmd.Flags().StringVar(&publicKey, "public-key", "", "the peer's own public nkey (from 'hub peer keygen' on its side) instead of --out")
	cf.register(cmd)
	return cmd
}

func removeIf(path string) {
	if path != "" {
		_ = os.Remove(path)
	}
}

func peerKeygenCmd() *cobra.Command {
	var out, natsURL string
	cmd := &cobra.Command{
		Use:   "keygen NAME --out FILE",
		Short: "Make this hub's key pair for a peer hub to register (offline)",
		Long: `keygen is the other way to start a link: the taking hub's admin makes the key pair, keeps the
credentials file (mode 0600) and sends only the printed public key to the giving hub's admin,
who registers it with 'hub peer create NAME --public-key KEY'. NAME is the name the giving hub
knows this hub by (this hub's --name). The seed never leaves this machine.`,
		Example: `  hub peer keygen regional --out to-national.nk --nats-url tls://hub.af.example:4222`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := os.Stat(out); err == nil {
				return fmt.Errorf("%s exists: not overwriting credentials", out)
			}
			cr, pub, err := peerCreds(args[0], natsURL)
			if err != nil {
				return err
			}
			if err := cr.WriteFile(out); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s\ncredentials: %s (mode 0600); send the public key above to the giving hub's admin: hub peer create %s --public-key %s\n", pub, out, args[0], pub)
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "credentials file to write")
	cmd.Flags().StringVar(&natsURL, "nats-url", "nats://127.0.0.1:4222", "the giving hub's NATS URL, written into the credentials file")
	_ = cmd.MarkFlagRequired("out")
	return cmd
}

func peerRevokeCmd() *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{
		Use:   "revoke NAME",
		Short: "Revoke a peer hub's identity: its link is cut at once and its key refused",
		Long: `revoke removes the identity hub:NAME: the peer's live link is cut, its key refused, and its
subscriptions here deleted. Created again (the same key or a new one), the peer resumes after
the last record it took: the taking hub keeps that position itself.`,
		Example: `  hub peer revoke regional`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, ctx, cancel, err := cf.session(cmd)
			if err != nil {
				return err
			}
			defer cancel()
			if err := c.sendJSON(ctx, http.MethodDelete, "/api/v1/peers/"+url.PathEscape(args[0])+"/identity", nil, nil); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "peer hub %s revoked: its link is cut and its key refused\n", args[0])
			return nil
		},
	}
	cf.register(cmd)
	return cmd
}

// registerPeerAdd is clientFlags.register for 'peer add', whose --ca is the
// peer's CA: the admin API's CA is --hub-ca (or HUB_CA) there.
func (f *clientFlags) registerPeerAdd(cmd *cobra.Command) {
	f.cmd = cmd
	fl := cmd.Flags()
	fl.StringVar(&f.hubURL, "hub-url", envOr("HUB_URL", "http://127.0.0.1:8080"), "this hub's HTTP API (env HUB_URL)")
	fl.StringVar(&f.data, "data", "data", "this hub's data dir, where the admin token is (env HUB_TOKEN overrides)")
	fl.StringVar(&f.tls.ca, "hub-ca", os.Getenv("HUB_CA"), "PEM CA file to trust for an https this hub's API (env HUB_CA); --ca is the peer's")
	fl.StringVar(&f.tls.cert, "client-cert", os.Getenv("HUB_CLIENT_CERT"), "PEM client certificate for this hub's API if it requires one (env HUB_CLIENT_CERT)")
	fl.StringVar(&f.tls.key, "client-key", os.Getenv("HUB_CLIENT_KEY"), "PEM key of --client-cert (env HUB_CLIENT_KEY)")
}

func peerAddCmd() *cobra.Command {
	var cf clientFlags
	var credsFile, caFile string
	var datasets []string
	var forward, replace, noYield bool
	var rate int
	cmd := &cobra.Command{
		Use:   "add NAME URL --credentials FILE --dataset D[=LOCAL]... [--ca FILE] [--forward] [--rate N] [--no-yield]",
		Short: "Take datasets from a peer hub: a link with the credentials its admin made for this hub",
		Long: `add links this hub to the peer hub NAME at URL (its NATS address: tls://host:port when it
serves TLS, verified against --ca or the system's CAs) with the credentials file its admin
made ('hub peer create' on that hub). The peer's policies decide which datasets it grants;
--dataset chooses which of them this hub takes, into the local dataset of the same name or
D=LOCAL. Each record is validated against the local schema, stored once with its record
id, publisher and origin, or kept in the dead letters with the reason. The link is kept in
this hub's state, survives restarts and resumes after the last record taken when it was cut.

A link yields to this hub's own publishers, so a catch-up after a cut does not starve them:
while they are busy, the links share a bound that follows how long their records wait in
ingest, from arrival to answer. Four times a second: while that wait (smoothed) stays within
1.3 times its time with the links quiet (measured again every 15 s), the bound grows
(doubling from 100 records a second, then by an eighth); above it, the bound drops to 0.7
of what the links took (never below 100 a second). While no publisher is busy, a link
takes as fast as it can. --rate N is a fixed ceiling on top (default 0: none); --no-yield
takes up to --rate whatever the local load (for a hub without publishers of its own).
'hub peer list' shows the bound in force.

Without --forward only the peer's own records are taken, not those it took from other
hubs. --replace changes an existing link, keeping its positions.`,
		Example: `  hub peer add national tls://hub.af.example:4222 --credentials regional.nk --dataset jobads --ca af-ca.pem
  hub peer add national nats://127.0.0.1:4222 --credentials regional.nk --dataset jobads=national-jobads --dataset taxonomy-concepts --rate 500
  hub peer add national nats://127.0.0.1:4222 --credentials regional.nk --dataset jobads --forward --replace`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			name, peerURL := args[0], args[1]
			for _, u := range strings.Split(peerURL, ",") {
				if err := creds.CheckHubURL(u); err != nil {
					return clirun.Usagef("URL: %v", err)
				}
			}
			if len(datasets) == 0 {
				return clirun.Usagef("name the datasets to take: --dataset D (or D=LOCAL), once per dataset")
			}
			for _, d := range datasets {
				if _, err := federation.ParseDataset(d); err != nil {
					return clirun.Usage(err)
				}
			}
			if rate < 0 {
				return clirun.Usagef("--rate %d: want 0 (no fixed ceiling) or more records per second", rate)
			}
			cr, _, err := creds.Read(credsFile, newLogger(cmd.ErrOrStderr(), "warn", "text"))
			if err != nil {
				return err
			}
			if _, ok := wire.PeerName(cr.Actor); !ok {
				return clirun.Usagef("%s holds the credentials of %q, not of a hub: a peer's admin makes them with 'hub peer create'", credsFile, wire.DisplayName(cr.Actor))
			}
			req := api.LinkRequest{URL: peerURL, Identity: cr.Actor, Seed: string(cr.Seed), Datasets: datasets, Forward: forward, Rate: &rate, NoYield: noYield}
			if caFile != "" {
				if _, err := pemfile.CertPool(caFile); err != nil {
					return clirun.Usagef("--ca: %v", err)
				}
				b, err := os.ReadFile(caFile)
				if err != nil {
					return err
				}
				req.CA = string(b)
			}
			c, ctx, cancel, err := cf.session(cmd)
			if err != nil {
				return err
			}
			defer cancel()
			method := http.MethodPost
			if replace {
				method = http.MethodPut
			}
			var v federation.LinkView
			if err := c.sendJSON(ctx, method, "/api/v1/peers/"+url.PathEscape(name)+"/link", req, &v); err != nil {
				return err
			}
			var ds []string
			for _, d := range v.Datasets {
				ds = append(ds, d.String())
			}
			bound := "yielding to local publishers"
			switch {
			case v.NoYield && v.Rate > 0:
				bound = fmt.Sprintf("at most %d records/s, not yielding to local publishers", v.Rate)
			case v.NoYield:
				bound = "no bound on the rate, not yielding to local publishers"
			case v.Rate > 0:
				bound = fmt.Sprintf("at most %d records/s, yielding to local publishers", v.Rate)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "link to %s at %s: takes %s as %s, %s; 'hub peer list' shows how it goes\n", v.Name, v.URL, strings.Join(ds, ", "), v.Identity, bound)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&credsFile, "credentials", "", "the credentials file the peer's admin made for this hub")
	fl.StringArrayVar(&datasets, "dataset", nil, "a dataset to take: D, or D=LOCAL into another local dataset (repeat for more)")
	fl.StringVar(&caFile, "ca", "", "PEM CA file to trust for the peer's TLS certificate (default: the system's CAs)")
	fl.BoolVar(&forward, "forward", false, "also take the records the peer took from other hubs (a chain A→B→C)")
	fl.IntVar(&rate, "rate", federation.DefaultRate, "most records a second taken over the link, busy or idle (0: no fixed ceiling)")
	fl.BoolVar(&noYield, "no-yield", false, "take up to --rate even while this hub's publishers are busy (by default the link yields to them)")
	fl.BoolVar(&replace, "replace", false, "replace the link of that name, keeping its positions")
	_ = cmd.MarkFlagRequired("credentials")
	cf.registerPeerAdd(cmd)
	cmd.ValidArgsFunction = firstArg(cobra.NoFileCompletions)
	_ = cmd.RegisterFlagCompletionFunc("dataset", cf.datasetNames)
	return cmd
}

func peerRemoveCmd() *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{
		Use:   "remove NAME",
		Short: "Stop taking datasets from a peer hub",
		Long: `remove deletes the link to NAME: it stops within a second and its subscriptions on the peer
are deleted. The records already taken stay; a link added again starts over, and what it
takes again is stored once (records are remembered for as long as the dataset keeps them).`,
		Example: `  hub peer remove national`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, ctx, cancel, err := cf.session(cmd)
			if err != nil {
				return err
			}
			defer cancel()
			if err := c.sendJSON(ctx, http.MethodDelete, "/api/v1/peers/"+url.PathEscape(args[0])+"/link", nil, nil); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "link to %s removed\n", args[0])
			return nil
		},
	}
	cf.register(cmd)
	return cmd
}

func peerListCmd() *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{
		Use:   "list [-o table|json]",
		Short: "List peer hubs: links this hub takes over, identities peers take from it",
		Long: `list shows each peer hub, one line per dataset: TAKES for a link this hub takes over (its
state, and per dataset the records received, the last sequence taken on the peer and the lag
in records and seconds; NOTE shows the bound in force while the link yields to this hub's
busy publishers), GIVES for an identity a peer takes from this hub as (its live
connections, and per dataset: LAST SEQ, the sequence up to which it acknowledged every
record here; LAG RECORDS, the records after it the peer has not acknowledged, whether not
delivered yet or delivered and not yet acknowledged).`,
		Example: `  hub peer list
  hub peer list -o json | jq '.[] | select(.link) | .link.status.datasets[] | {remote, lag_records}'`,
		Args: cobra.NoArgs,
	}
	format := outputFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		c, ctx, cancel, err := cf.session(cmd)
		if err != nil {
			return err
		}
		defer cancel()
		var list []api.PeerInfo
		if err := c.getJSON(ctx, "/api/v1/peers", &list); err != nil {
			return err
		}
		if format.json() {
			return printJSON(cmd.OutOrStdout(), list)
		}
		return printTable(cmd.OutOrStdout(), func(tw io.Writer) { peerTable(tw, list) })
	}
	cf.register(cmd)
	return cmd
}

func peerTable(tw io.Writer, list []api.PeerInfo) {
	fmt.Fprintln(tw, "PEER\tROLE\tSTATE\tDATASET\tRECEIVED\tLAST SEQ\tLAG RECORDS\tLAG S\tNOTE")
	for _, p := range list {
		if l := p.Link; l != nil {
			state := l.Status.State
			note := l.Status.Error
			if note == "" && l.Status.Bound > 0 && !l.NoYield && (l.Rate == 0 || l.Status.Bound < l.Rate) {
				note = fmt.Sprintf("yielding to local publishers: at most %d records/s", l.Status.Bound)
			}
			if len(l.Status.Datasets) == 0 {
				fmt.Fprintf(tw, "%s\ttakes\t%s\t-\t-\t-\t-\t-\t%s\n", p.Name, state, note)
			}
			for _, d := range l.Status.Datasets {
				dsNote := note
				if d.Error != "" {
					dsNote = d.State + ": " + d.Error
				} else if d.Duplicates+d.DeadLettered+d.Echoes+d.NotForwarded > 0 {
					dsNote = fmt.Sprintf("%d duplicates, %d dead letters, %d echoes, %d not forwarded", d.Duplicates, d.DeadLettered, d.Echoes, d.NotForwarded)
				}
				name := d.Remote
				if d.Local != d.Remote {
					name += "→" + d.Local
				}
				fmt.Fprintf(tw, "%s\ttakes\t%s\t%s\t%d\t%d\t%d\t%.0f\t%s\n", p.Name, state, name, d.Received, d.LastSeq, d.LagRecords, d.LagSeconds, oneLineNote(dsNote))
			}
		}
		if id := p.Identity; id != nil {
			state := fmt.Sprintf("%d connections", id.Connections)
			if id.Connections == 1 {
				state = "1 connection"
			}
			if len(id.Subscriptions) == 0 {
				fmt.Fprintf(tw, "%s\tgives\t%s\t-\t-\t-\t-\t-\t%s\n", p.Name, state, id.Subject)
			}
			for _, s := range id.Subscriptions {
				note := id.Subject
				if s.Suspended {
					note += ": suspended (right lost, position kept)"
				}
				fmt.Fprintf(tw, "%s\tgives\t%s\t%s\t-\t%d\t%d\t-\t%s\n", p.Name, state, s.Dataset, s.AckFloor, s.Pending, note)
			}
		}
	}
}

func oneLineNote(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > 100 {
		s = s[:97] + "..."
	}
	return s
}

func peerAnchorCmd() *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{
		Use:   "anchor NAME",
		Short: "Print the last audit anchor of a peer hub held here, for its 'audit verify --anchor'",
		Long: `anchor prints, as one JSON line, the last signed audit anchor the peer hub NAME handed over
(anchors travel over links both ways). It is kept here, out of the reach of that hub's own
admins: saved to a file and given to 'hub audit verify --anchor FILE' on that hub, it shows
whether its audit log still passes through what it anchored.`,
		Example: `  hub peer anchor national > national-anchor.ndjson
  hub peer anchor regional`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, ctx, cancel, err := cf.session(cmd)
			if err != nil {
				return err
			}
			defer cancel()
			var an json.RawMessage
			if err := c.getJSON(ctx, "/api/v1/peers/"+url.PathEscape(args[0])+"/anchor", &an); err != nil {
				return err
			}
			var line bytes.Buffer
			if err := json.Compact(&line, an); err != nil {
				return err
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), line.String())
			return err
		},
	}
	cf.register(cmd)
	return cmd
}
