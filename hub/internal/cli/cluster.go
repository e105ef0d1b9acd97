package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/jobtech-dev/datahub/hub/internal/api"
	"github.com/jobtech-dev/datahub/hub/internal/audit"
	"github.com/jobtech-dev/datahub/internal/clirun"
	"github.com/jobtech-dev/datahub/internal/problem"
)

// Files `hub cluster init` writes: what every node of a cluster shares.
const (
	ClusterSecretFile = "cluster.secret"
	AdminTokenFile    = "admin.token"
	AnchorKeyFile     = "anchor.nk"
)

// statusCmd reads a node's health checks (no token needed): what an
// operator, a container's health check or a script asks first.
func statusCmd() *cobra.Command {
	var hubURL string
	var ready, quiet bool
	var tf tlsFlags
	cmd := &cobra.Command{
		Use:   "status [--ready]",
		Short: "Show a hub node's health and, in a cluster, the cluster's state (peers, leader, lag)",
		Long: `status reads the node's /healthz (with --ready: /readyz) and prints it: on a cluster node the
cluster's name, this node, the JetStream leader, whether there is a quorum, the other nodes
(current, lag) and each of the hub's streams with its copies, its leader and the copies that
lag or are offline. Exit status 1 when the node is not ok (not ready with --ready), so it
serves as a container's health check. No admin token is needed.`,
		Example: `  hub status --hub-url http://127.0.0.1:8080
  hub status --ready --quiet --hub-url http://127.0.0.1:8080`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			hc, err := tf.httpClient(hubURL)
			if err != nil {
				return err
			}
			hc.Timeout = 5 * time.Second
			path := "/healthz"
			if ready {
				path = "/readyz"
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 5*time.Second)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(hubURL, "/")+path, nil)
			if err != nil {
				return err
			}
			resp, err := hc.Do(req)
			if err != nil {
				if quiet {
					return exitCode(clirun.Refused)
				}
				return fmt.Errorf("hub at %s unreachable: %w", hubURL, err)
			}
			defer resp.Body.Close()
			if quiet {
				if resp.StatusCode != http.StatusOK {
					return exitCode(clirun.Refused)
				}
				return nil
			}
			out := cmd.OutOrStdout()
			if resp.StatusCode != http.StatusOK {
				// The problem document's detail says why (internal/problem).
				perr := problem.Decode(resp)
				if p, ok := errors.AsType[*problem.Problem](perr); ok && p.Detail != "" {
					fmt.Fprintf(out, "not ready: %s\n", p.Detail)
				} else {
					fmt.Fprintf(out, "%v\n", perr)
				}
				return exitCode(clirun.Refused)
			}
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
			var h api.Health
			if err := json.Unmarshal(b, &h); err != nil {
				return fmt.Errorf("%s%s: %w", hubURL, path, err)
			}
			printHealth(out, h)
			return nil
		},
	}
	cmd.Flags().StringVar(&hubURL, "hub-url", envOr("HUB_URL", "http://127.0.0.1:8080"), "the hub node's HTTP API (env HUB_URL)")
	cmd.Flags().BoolVar(&ready, "ready", false, "ask /readyz: ready to take and serve records (a cluster node: JetStream has a quorum)")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "print nothing; only the exit status")
	tf.register(cmd)
	return cmd
}

func printHealth(w io.Writer, h api.Health) {
	fmt.Fprintf(w, "status:   %s\n", h.Status)
	c := h.Cluster
	if c == nil {
		fmt.Fprintf(w, "cluster:  none (a single hub)\n")
		return
	}
	leader := c.Leader
	if leader == "" {
		leader = "none"
	}
	fmt.Fprintf(w, "cluster:  %s, node %s, JetStream leader %s, quorum %v, %d nodes\n", c.Name, c.Node, leader, c.Quorum, c.Size)
	fmt.Fprintf(w, "routes:   %s\n", strings.Join(c.Routed, ", "))
	for _, p := range c.Peers {
		state := "current"
		switch {
		case p.Offline:
			state = "offline"
		case !p.Current:
			state = fmt.Sprintf("catching up (lag %d)", p.Lag)
		}
		fmt.Fprintf(w, "peer:     %s %s, last seen %s ago\n", p.Name, state, p.Active)
	}
	names := make([]string, 0, len(c.Streams))
	for n := range c.Streams {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		s := c.Streams[n]
		extra := ""
		if len(s.Lagging) > 0 {
			var l []string
			for node, lag := range s.Lagging {
				l = append(l, fmt.Sprintf("%s %d behind", node, lag))
			}
			sort.Strings(l)
			extra += "; lagging: " + strings.Join(l, ", ")
		}
		if len(s.Offline) > 0 {
			extra += "; offline: " + strings.Join(s.Offline, ", ")
		}
		fmt.Fprintf(w, "stream:   %-24s %d copies, leader %s%s\n", n, s.Replicas, s.Leader, extra)
	}
}

// clusterCmd groups what is done to a cluster as a whole.
func clusterCmd() *cobra.Command {
	cmd := clirun.Group(&cobra.Command{Use: "cluster", Short: "Set up a cluster of hub nodes", Example: "  hub cluster init --out secrets"})
	var out string
	initCmd := &cobra.Command{
		Use:   "init --out DIR",
		Short: "Make the secrets every node of a new cluster shares",
		Long: `init writes, each mode 0600, into DIR:
  ` + ClusterSecretFile + `  the secret every route between the nodes presents (--cluster-secret-file)
  ` + AdminTokenFile + `     the admin API's token, the same on every node (--admin-token-file)
  ` + AnchorKeyFile + `       the key that signs the one audit chain's anchors, seals and checkpoints (--audit-anchor-key)
Give every node the same three files (a Kubernetes Secret, Docker secrets, or the same files on
each machine, readable by the hub's user only). An existing file is never overwritten.`,
		Example: `  hub cluster init --out secrets
  hub cluster init --out /etc/jobtech-hub/cluster`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return clirun.Usagef("--out DIR is required")
			}
			if err := os.MkdirAll(out, 0o700); err != nil {
				return err
			}
			for _, name := range []string{ClusterSecretFile, AdminTokenFile} {
				if err := writeSecret(filepath.Join(out, name)); err != nil {
					return err
				}
			}
			key := filepath.Join(out, AnchorKeyFile)
			if _, err := os.Stat(key); err == nil {
				return fmt.Errorf("%s exists: not overwriting", key)
			}
			kp, _, err := audit.LoadOrCreateKey(key)
			if err != nil {
				return err
			}
			pub, _ := kp.PublicKey()
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s, %s and %s (anchor public key %s)\n",
				filepath.Join(out, ClusterSecretFile), filepath.Join(out, AdminTokenFile), key, pub)
			return nil
		},
	}
	initCmd.Flags().StringVar(&out, "out", "", "folder to write the three files into")
	cmd.AddCommand(initCmd)
	return cmd
}

// writeSecret writes 32 random bytes, hex, to path (mode 0600), refusing to
// overwrite it.
func writeSecret(path string) error {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("%s exists: not overwriting", path)
		}
		return err
	}
	if _, err := fmt.Fprintln(f, hex.EncodeToString(b)); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}
