package cli

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/jobtech-dev/datahub/connector-kit/kit"
)

const (
	hubFlagHelp = "the hub's NATS URL; a clustered hub's nodes comma-separated (default: the hub the credentials file names, else nats://127.0.0.1:4222)"
	caFlagHelp  = "PEM file of the CA that signed the hub's TLS certificate (requires TLS; default: the system's CAs for tls:// URLs)"
)

// tlsFlags are the TLS flags of the commands that dial the hub directly.
type tlsFlags struct{ ca, cert, key string }

func (f *tlsFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.ca, "ca", "", caFlagHelp)
	fl.StringVar(&f.cert, "client-cert", "", "PEM client certificate for a hub that requires one (mutual TLS)")
	fl.StringVar(&f.key, "client-key", "", "PEM key of --client-cert")
	cmd.MarkFlagsRequiredTogether("client-cert", "client-key")
}

// options are the kit options the flags ask for.
func (f *tlsFlags) options() []kit.Option {
	return []kit.Option{kit.WithTLSFiles(f.ca, f.cert, f.key)}
}

// hubFlags are how the commands that dial the hub directly (import, tail)
// reach it: --hub, --credentials and the TLS flags.
type hubFlags struct {
	hub, creds string
	tls        tlsFlags
}

func (f *hubFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.hub, "hub", "", hubFlagHelp)
	fl.StringVar(&f.creds, "credentials", "", "the actor's credentials file")
	f.tls.register(cmd)
	_ = cmd.MarkFlagRequired("credentials")
	_ = cmd.MarkFlagFilename("credentials", "nk")
}

// dial connects as the actor of --credentials, naming the connection name.
func (f *hubFlags) dial(ctx context.Context, name string, opts ...kit.Option) (*kit.Client, error) {
	return kit.Dial(ctx, f.hub, f.creds, append(append(f.tls.options(), kit.WithName(name)), opts...)...)
}

// completeTimeout bounds the hub's answer to shell completion.
const completeTimeout = 3 * time.Second

// datasetNames completes the hub's dataset names, asked of the hub as the
// actor of --credentials; without it, or when the hub does not answer in
// time, nothing (never file names).
func (f *hubFlags) datasetNames(_ *cobra.Command, _ []string, prefix string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if f.creds == "" {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	ctx, cancel := context.WithTimeout(context.Background(), completeTimeout)
	defer cancel()
	c, err := f.dial(ctx, "connector-completion", kit.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	defer c.Close()
	names, err := c.Datasets(ctx)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var out []cobra.Completion
	for _, n := range names {
		if strings.HasPrefix(n, prefix) {
			out = append(out, n)
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}
