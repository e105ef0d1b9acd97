package cli

import (
	"context"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/jobtech-dev/datahub/hub/internal/api"
	"github.com/jobtech-dev/datahub/hub/internal/policy"
	"github.com/jobtech-dev/datahub/hub/internal/registry"
)

// Shell completion asks the running hub for its dataset and actor names,
// with the command line's own --hub-url, --data and TLS flags. It must be
// quick and quiet: a hub that does not answer within completeTimeout, or
// any error, completes nothing (and never offers file names instead).

// completeTimeout bounds one completion's call to the hub.
const completeTimeout = 3 * time.Second

type completeFunc = func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective)

// datasetNames completes the hub's dataset names, each with its title.
func (f *clientFlags) datasetNames(_ *cobra.Command, _ []string, prefix string) ([]cobra.Completion, cobra.ShellCompDirective) {
	var list []api.DatasetInfo
	if !f.completeGet("/api/v1/datasets", &list) {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var out []cobra.Completion
	for _, d := range list {
		if strings.HasPrefix(d.Name, prefix) {
			out = append(out, cobra.CompletionWithDesc(d.Name, d.Title))
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// actorNames completes the hub's actor names.
func (f *clientFlags) actorNames(_ *cobra.Command, _ []string, prefix string) ([]cobra.Completion, cobra.ShellCompDirective) {
	var list []api.ActorInfo
	if !f.completeGet("/api/v1/actors", &list) {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var out []cobra.Completion
	for _, a := range list {
		if strings.HasPrefix(a.Name, prefix) {
			out = append(out, a.Name)
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// firstArg completes only a command's first argument with fn.
func firstArg(fn completeFunc) completeFunc {
	return func(cmd *cobra.Command, args []string, prefix string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return fn(cmd, args, prefix)
	}
}

func (f *clientFlags) completeGet(path string, v any) bool {
	c, err := f.clientLogging(nil)
	if err != nil {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), completeTimeout)
	defer cancel()
	return c.getJSON(ctx, path, v) == nil
}

// actionNames completes the policy actions.
func actionNames(_ *cobra.Command, _ []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
	return policy.Actions(), cobra.ShellCompDirectiveNoFileComp
}

// localDatasetNames completes the datasets declared under the folder
// *schemas points at, for offline commands.
func localDatasetNames(schemas *string) completeFunc {
	return func(_ *cobra.Command, _ []string, prefix string) ([]cobra.Completion, cobra.ShellCompDirective) {
		all, err := registry.LoadDir(*schemas)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out []cobra.Completion
		for _, d := range all {
			if strings.HasPrefix(d.Name, prefix) {
				out = append(out, cobra.CompletionWithDesc(d.Name, d.Title))
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}
