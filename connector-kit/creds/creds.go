// Package creds reads and writes an actor's credentials file: its name, the
// hub's address and its nkey seed, in the decorated format every NATS client
// library reads, so the same file serves the connector, the Go kit and any
// plain NATS client. A file other users of the machine can read is refused.
package creds

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"

	"github.com/nats-io/nkeys"

	"github.com/jobtech-dev/datahub/internal/secretfile"
)

// Credentials are what an actor needs to connect: its name and its nkey seed.
type Credentials struct {
	Actor string
	// Hub is the hub's NATS URL (nats://… or tls://…) as the admin who
	// created the actor gave it: where the connector and the kit connect
	// when they are not told. A clustered hub's nodes are listed
	// comma-separated; the connection moves among them.
	Hub  string
	Seed []byte
}

// CheckHubURL reports whether u is a hub's NATS address, nats://host:port
// or tls://host:port, or a comma-separated list of them: the nodes of a
// clustered hub, any of which the connector and the kit may connect to
// (they move to another when one fails). The HTTP API's address is a
// common mistake, named.
func CheckHubURL(u string) error {
	urls := HubURLs(u)
	if len(urls) == 0 {
		return fmt.Errorf("%q is not the hub's NATS address (nats://host:port, or tls://host:port with TLS; the HTTP API is not it)", u)
	}
	for _, one := range urls {
		p, err := url.Parse(one)
		if err != nil || (p.Scheme != "nats" && p.Scheme != "tls") || p.Host == "" {
			what := "the hub's NATS address"
			if len(urls) > 1 {
				what = "a NATS address of the hub's nodes (in " + strconvQuote(u) + ")"
			}
			return fmt.Errorf("%q is not %s (nats://host:port, or tls://host:port with TLS; the HTTP API is not it)", one, what)
		}
	}
	return nil
}

// HubURLs splits a hub address that may list several nodes
// ("nats://a:4222,nats://b:4222") into its URLs, spaces trimmed.
func HubURLs(u string) []string {
	var out []string
	for _, one := range strings.Split(u, ",") {
		if one = strings.TrimSpace(one); one != "" {
			out = append(out, one)
		}
	}
	return out
}

func strconvQuote(s string) string { return fmt.Sprintf("%q", s) }

// New generates a fresh nkey pair for actor.
func New(actor, hub string) (Credentials, string, error) {
	kp, err := nkeys.CreateUser()
	if err != nil {
		return Credentials{}, "", fmt.Errorf("generate nkey: %w", err)
	}
	seed, _ := kp.Seed()
	pub, _ := kp.PublicKey()
	return Credentials{Actor: actor, Hub: hub, Seed: seed}, pub, nil
}

// Encode renders the credentials file: the nkey seed in the decorated format
// NATS tools read (nats.go: nats.NkeyOptionFromSeed(path); the nats CLI:
// --nkey path), with the actor name in a comment line the connector reads.
func (c Credentials) Encode() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# JobTech Data Hub credentials — keep secret\n")
	fmt.Fprintf(&b, "# actor: %s\n", c.Actor)
	if c.Hub != "" {
		fmt.Fprintf(&b, "# hub: %s\n", c.Hub)
	}
	fmt.Fprintf(&b, "\n-----BEGIN USER NKEY SEED-----\n%s\n------END USER NKEY SEED------\n", c.Seed)
	return b.Bytes()
}

// WriteFile writes the credentials to path, readable only by its owner, and
// refuses to overwrite an existing file.
func (c Credentials) WriteFile(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("write credentials: %w", err)
	}
	if _, err := f.Write(c.Encode()); err != nil {
		f.Close()
		return fmt.Errorf("write credentials %s: %w", path, err)
	}
	return f.Close()
}

// Read reads a credentials file written by WriteFile. It refuses a file
// other users can read (the error says `chmod 600 FILE`, and wraps
// secretfile.ErrReadableByOthers) and warns on log (nil: silent) about one its
// group can read.
func Read(path string, log *slog.Logger) (Credentials, nkeys.KeyPair, error) {
	b, err := secretfile.Read(path, "credentials file", log)
	if err != nil {
		return Credentials{}, nil, err
	}
	var c Credentials
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if v, ok := strings.CutPrefix(line, "# actor:"); ok {
			c.Actor = strings.TrimSpace(v)
		}
		if v, ok := strings.CutPrefix(line, "# hub:"); ok {
			c.Hub = strings.TrimSpace(v)
		}
	}
	kp, err := nkeys.ParseDecoratedNKey(b)
	if err != nil {
		return Credentials{}, nil, fmt.Errorf("credentials %s: %w", path, err)
	}
	seed, err := kp.Seed()
	if err != nil {
		return Credentials{}, nil, fmt.Errorf("credentials %s: %w", path, err)
	}
	c.Seed = seed
	if c.Actor == "" {
		return c, kp, errors.New("credentials " + path + ": no '# actor:' line")
	}
	return c, kp, nil
}
