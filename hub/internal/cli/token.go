package cli

import (
	"fmt"
	"net/http"

	"github.com/spf13/cobra"

	"github.com/jobtech-dev/datahub/hub/internal/admintoken"
	"github.com/jobtech-dev/datahub/hub/internal/api"
	"github.com/jobtech-dev/datahub/internal/clirun"
)

func tokenCmd() *cobra.Command {
	cmd := clirun.Group(&cobra.Command{Use: "token", Short: "Rotate the admin token", Example: "  hub token rotate"})
	var cf clientFlags
	var out string
	rotate := &cobra.Command{
		Use:   "rotate [--out FILE]",
		Short: "Replace the admin token: the new one works at once, the old one is refused at once",
		Long: `rotate asks the hub for a new admin token. The hub writes it to its data dir (admin.token,
mode 0600), audits the rotation (token.rotate, with the fingerprints of the old and the new
token, never the tokens), and from its answer on accepts only the new token: every admin
still holding the old one is refused (401).

The CLI writes the new token, atomically and with mode 0600, to --out, or else to the token
file it used (--data DIR/admin.token): run on the hub's server as the hub's user, that is the
hub's own file. When the token came from HUB_TOKEN and no --out is given, the new token is
printed on standard output (and nothing else is): put it where HUB_TOKEN comes from.`,
		Example: `  hub token rotate --data /var/lib/jobtech-hub
  HUB_TOKEN=$(cat old.token) hub token rotate --hub-url https://hub.example:8080 --out ~/.config/jobtech-hub/admin.token`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, ctx, cancel, err := cf.session(cmd)
			if err != nil {
				return err
			}
			defer cancel()
			_, file, err := admintoken.FindFile(cf.data, nil)
			if err != nil {
				return err
			}
			var res api.TokenRotation
			if err := c.sendJSON(ctx, http.MethodPost, "/api/v1/token/rotate", nil, &res); err != nil {
				return err
			}
			dest := out
			if dest == "" {
				dest = file
			}
			if dest == "" {
				fmt.Fprintln(cmd.OutOrStdout(), res.Token)
				fmt.Fprintf(cmd.ErrOrStderr(), "admin token rotated (fingerprint %s); the old one is refused from now on: set HUB_TOKEN to the token printed above\n", res.Fingerprint)
				return nil
			}
			if err := admintoken.WriteFile(dest, res.Token); err != nil {
				// The hub has the new token in force and in its own file:
				// say where to get it rather than lose it.
				return fmt.Errorf("admin token rotated (fingerprint %s) but %w; the hub keeps it in %s", res.Fingerprint, err, res.File)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "admin token rotated (fingerprint %s): written to %s (mode 0600); the old token is refused from now on\n", res.Fingerprint, dest)
			return nil
		},
	}
	rotate.Flags().StringVarP(&out, "out", "o", "", "file to write the new token to (default: the token file used, --data DIR/admin.token)")
	cf.register(rotate)
	cmd.AddCommand(rotate)
	return cmd
}
