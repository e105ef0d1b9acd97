package cli

import (
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/spf13/cobra"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/internal/clirun"
)

// keyCmd shows and transfers the owners of record keys in datasets whose
// keys are owned (key_scope: dataset).
func keyCmd() *cobra.Command {
	cmd := clirun.Group(&cobra.Command{Use: "key", Short: "Show or transfer who owns a record key (datasets with key_scope: dataset)",
		Example: "  hub key owner vrDq_rUY_7PX --dataset taxonomy-concepts\n  hub key transfer vrDq_rUY_7PX --dataset taxonomy-concepts --to arbetsformedlingen"})
	var of clientFlags
	var dataset string
	owner := &cobra.Command{
		Use:     "owner KEY --dataset D",
		Short:   "Show who owns a record key",
		Example: "  hub key owner vrDq_rUY_7PX --dataset taxonomy-concepts",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, ctx, cancel, err := of.session(cmd)
			if err != nil {
				return err
			}
			defer cancel()
			var ko wire.KeyOwner
			if err := c.getJSON(ctx, ownerPath(dataset, args[0]), &ko); err != nil {
				return err
			}
			printOwner(cmd, ko)
			return nil
		},
	}
	owner.Flags().StringVarP(&dataset, "dataset", "d", "", "the dataset")
	_ = owner.MarkFlagRequired("dataset")
	of.register(owner)

	var tf clientFlags
	var tds, to string
	transfer := &cobra.Command{
		Use:   "transfer KEY --dataset D --to ACTOR",
		Short: "Make ACTOR the owner of a record key (audited)",
		Long: `transfer makes ACTOR the only publisher that may store or remove records under KEY
from now on: the previous owner's records and tombstones for it are refused. A key nobody
owns yet can be assigned too, before its first record. The dataset's owner can do the same
with the Go kit (Client.TransferKey).`,
		Example: "  hub key transfer vrDq_rUY_7PX --dataset taxonomy-concepts --to arbetsformedlingen",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, ctx, cancel, err := tf.session(cmd)
			if err != nil {
				return err
			}
			defer cancel()
			var ko wire.KeyOwner
			if err := c.sendJSON(ctx, http.MethodPut, ownerPath(tds, args[0]), map[string]string{"publisher": to}, &ko); err != nil {
				return err
			}
			printOwner(cmd, ko)
			return nil
		},
	}
	transfer.Flags().StringVarP(&tds, "dataset", "d", "", "the dataset")
	transfer.Flags().StringVar(&to, "to", "", "the actor that owns the key from now on")
	_ = transfer.MarkFlagRequired("dataset")
	_ = transfer.MarkFlagRequired("to")
	tf.register(transfer)
	cmd.AddCommand(owner, transfer)
	return cmd
}

func ownerPath(dataset, key string) string {
	return "/api/v1/datasets/" + url.PathEscape(dataset) + "/owners/" + url.PathEscape(key)
}

func printOwner(cmd *cobra.Command, ko wire.KeyOwner) {
	line := fmt.Sprintf("%s/%s: owned by %s (origin %s) since %s, by %s", ko.Dataset, ko.Key, ko.Publisher, ko.Origin, ko.Since.Format(time.RFC3339), ko.By)
	if ko.Previous != "" {
		line += ", before: " + ko.Previous
	}
	fmt.Fprintln(cmd.OutOrStdout(), line)
}
