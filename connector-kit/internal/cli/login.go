package cli

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/jobtech-dev/datahub/connector-kit/creds"
	"github.com/jobtech-dev/datahub/internal/clirun"
	"github.com/jobtech-dev/datahub/internal/problem"
)

// loginMessage is what the hub's web sign-in has the actor sign (it must
// match hub/internal/web.LoginMessage).
func loginMessage(nonce string) []byte { return []byte("jobtech-datahub web login\n" + nonce) }

func loginCmd() *cobra.Command {
	var credsFile, hubURL, caFile string
	cmd := &cobra.Command{
		Use:   "login --credentials FILE --hub-url URL",
		Short: "Print a one-time link that signs a browser in to the hub's web pages as this actor",
		Long: `login asks the hub's web pages for a challenge, signs it here with the actor's key from
the credentials file, and prints a one-time sign-in link valid for five minutes. The private
key never leaves this machine: neither the hub nor the browser sees it. Open the link to see
the actor's rights per dataset, ask for access to a dataset and publish services in the
Jobstore. --hub-url is the hub's HTTP address (its web pages), not its NATS address.`,
		Example: `  connector login --credentials jobbland.nk --hub-url http://127.0.0.1:8080
  connector login --credentials jobbland.nk --hub-url https://hub.example:8443 --ca tls/ca.pem`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if credsFile == "" {
				return clirun.Usage(fmt.Errorf("--credentials is required"))
			}
			cr, kp, err := creds.Read(credsFile, newLogger(cmd.ErrOrStderr(), "warn"))
			if err != nil {
				return clirun.Usage(err)
			}
			hc := &http.Client{Timeout: 30 * time.Second}
			if caFile != "" {
				pem, err := os.ReadFile(caFile)
				if err != nil {
					return clirun.Usage(fmt.Errorf("--ca: %w", err))
				}
				pool := x509.NewCertPool()
				if !pool.AppendCertsFromPEM(pem) {
					return clirun.Usage(fmt.Errorf("--ca %s: no PEM certificate in it", caFile))
				}
				hc.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
			}
			base := strings.TrimRight(hubURL, "/")
			ctx, cancel := context.WithTimeout(cmd.Context(), time.Minute)
			defer cancel()
			var ch struct {
				Nonce string `json:"nonce"`
			}
			if err := postJSON(ctx, hc, base+"/login/challenge", map[string]string{"actor": cr.Actor}, &ch); err != nil {
				return err
			}
			sig, err := kp.Sign(loginMessage(ch.Nonce))
			if err != nil {
				return fmt.Errorf("sign the challenge: %w", err)
			}
			var link struct {
				Path      string    `json:"path"`
				ExpiresAt time.Time `json:"expires_at"`
			}
			req := map[string]string{"actor": cr.Actor, "nonce": ch.Nonce, "signature": base64.RawURLEncoding.EncodeToString(sig)}
			if err := postJSON(ctx, hc, base+"/login/token", req, &link); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "%s%s\n", base, link.Path)
			fmt.Fprintf(cmd.ErrOrStderr(), "open the link above within %s to sign in as %s (it works once)\n", time.Until(link.ExpiresAt).Round(time.Second), cr.Actor)
			return nil
		},
	}
	cmd.Flags().StringVar(&credsFile, "credentials", "", "the actor's credentials file (its nkey seed stays here)")
	cmd.Flags().StringVar(&hubURL, "hub-url", envOrDefault("HUB_URL", "http://127.0.0.1:8080"), "the hub's HTTP address (env HUB_URL)")
	cmd.Flags().StringVar(&caFile, "ca", "", "CA certificate of a hub serving https with a private CA")
	return cmd
}

// postJSON posts v and decodes a 200 answer into out; a problem is an error
// with the hub's words (a refusal: exit status 1).
func postJSON(ctx context.Context, hc *http.Client, url string, v, out any) error {
	b, _ := json.Marshal(v)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(b))
	if err != nil {
		return clirun.Usage(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("hub at %s unreachable: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		err := problem.Decode(resp)
		if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusTooManyRequests {
			return clirun.Refusal(err)
		}
		return err
	}
	return json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(out)
}

func envOrDefault(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
