package cli

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/jobtech-dev/datahub/internal/pemfile"
)

// tlsFlags are how an admin command trusts a hub serving https, and what it
// presents to one that requires client certificates.
type tlsFlags struct {
	ca, cert, key string
}

func (f *tlsFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.ca, "ca", os.Getenv("HUB_CA"), "PEM CA file to trust for an https hub URL (env HUB_CA; default: the system's CAs)")
	fl.StringVar(&f.cert, "client-cert", os.Getenv("HUB_CLIENT_CERT"), "PEM client certificate for a hub that requires one (env HUB_CLIENT_CERT)")
	fl.StringVar(&f.key, "client-key", os.Getenv("HUB_CLIENT_KEY"), "PEM key of --client-cert (env HUB_CLIENT_KEY)")
}

// httpClient is an HTTP client for hubURL with these settings.
func (f *tlsFlags) httpClient(hubURL string) (*http.Client, error) {
	if !strings.HasPrefix(hubURL, "https://") {
		if f.ca != "" || f.cert != "" || f.key != "" {
			return nil, fmt.Errorf("--ca, --client-cert and --client-key are for an https:// hub URL; --hub-url is %q", hubURL)
		}
		return &http.Client{}, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if f.ca != "" {
		pool, err := pemfile.CertPool(f.ca)
		if err != nil {
			return nil, fmt.Errorf("--ca: %w", err)
		}
		cfg.RootCAs = pool
	}
	if (f.cert == "") != (f.key == "") {
		return nil, errors.New("--client-cert and --client-key go together")
	}
	if f.cert != "" {
		pair, err := tls.LoadX509KeyPair(f.cert, f.key)
		if err != nil {
			return nil, fmt.Errorf("--client-cert %s with --client-key %s: %w", f.cert, f.key, err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = cfg
	// HTTP/1.1: over HTTP/2 a refused client certificate surfaces as an
	// opaque "client conn could not be established", not as the TLS
	// error the hint explains.
	tr.ForceAttemptHTTP2 = false
	return &http.Client{Transport: tr}, nil
}
