package cli

import (
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
