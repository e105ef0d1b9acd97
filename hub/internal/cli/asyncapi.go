package cli

import (
	"io"
	"net/http"
	"net/url"

	"github.com/spf13/cobra"
)

func asyncAPICmd() *cobra.Command {
	var cf clientFlags
	var actor string
	cmd := &cobra.Command{
		Use:   "asyncapi [--actor NAME]",
		Short: "Print the AsyncAPI 3.0 document of the hub's datasets (one actor's, with --actor)",
		Long: `asyncapi prints the AsyncAPI 3.0.0 document of the datasets in force, as JSON: the hub's NATS
server, per dataset a channel to publish on (ingest.<dataset>.<actor>) and one to receive on
(deliver.<actor>.<dataset>.<consumer>), the record message whose payload is the dataset's latest
schema version, and the send and receive operations. With --actor, it is that actor's document:
its own subjects, and only the operations its rights allow now (as 'hub policy explain' says).
AsyncAPI tools read it to document, mock or generate clients.`,
		Example: `  hub asyncapi > hub.asyncapi.json
  hub asyncapi --actor jobbland | jq '.operations | keys'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, ctx, cancel, err := cf.session(cmd)
			if err != nil {
				return err
			}
			defer cancel()
			path := "/api/v1/asyncapi.json"
			if cmd.Flags().Changed("actor") {
				path += "?actor=" + url.QueryEscape(actor)
			}
			resp, err := c.do(ctx, http.MethodGet, path, "", nil)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return errorFrom(resp)
			}
			_, err = io.Copy(cmd.OutOrStdout(), resp.Body)
			return err
		},
	}
	cmd.Flags().StringVar(&actor, "actor", "", "the actor whose document to print: its subjects and rights")
	cf.register(cmd)
	_ = cmd.RegisterFlagCompletionFunc("actor", cf.actorNames)
	return cmd
}
