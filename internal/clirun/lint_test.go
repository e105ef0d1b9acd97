package clirun

import (
	"reflect"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

func TestShellSegments(t *testing.T) {
	t.Parallel()
	for line, want := range map[string][][]string{
		`hub audit seal --reason "disk failure, ticket 1"`:               {{"hub", "audit", "seal", "--reason", "disk failure, ticket 1"}},
		`hub datasets -o json | jq -r '.[] | .name'`:                     {{"hub", "datasets", "-o", "json"}, {"jq", "-r", ".[] | .name"}},
		`journalctl -u x | grep 'a b' > anchors.log && hub audit verify`: {{"journalctl", "-u", "x"}, {"grep", "a b"}, {"hub", "audit", "verify"}},
		`source <(hub completion bash)    # this shell`:                  {{"source"}, {"hub", "completion", "bash"}},
		`hub completion zsh > "${fpath[1]}/_hub"`:                        {{"hub", "completion", "zsh"}},
		`MATCHER_SECRET=x connector run -c connector.yaml`:               {{"MATCHER_SECRET=x", "connector", "run", "-c", "connector.yaml"}},
		`hub serve --policies '' --data data`:                            {{"hub", "serve", "--policies", "", "--data", "data"}},
	} {
		if got := shellSegments(line); !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %q\nwant %q", line, got, want)
		}
	}
}

func TestLintFindsMissingAndBrokenExamples(t *testing.T) {
	t.Parallel()
	newRoot := func() *cobra.Command {
		root := &cobra.Command{Use: "tool", Example: "  tool run --dataset jobads x.json"}
		run := &cobra.Command{Use: "run", Args: cobra.MinimumNArgs(1), RunE: func(*cobra.Command, []string) error { return nil },
			Example: "  tool run --dataset jobads x.json\n  tool run --datset jobads x.json\n  tool run x.json\n  tool nosuch\n  echo hello"}
		run.Flags().String("dataset", "", "")
		_ = run.MarkFlagRequired("dataset")
		quiet := &cobra.Command{Use: "quiet", RunE: func(*cobra.Command, []string) error { return nil }}
		root.AddCommand(run, quiet)
		return root
	}
	var got []string
	for _, err := range Lint(newRoot, "tool") {
		got = append(got, err.Error())
	}
	all := strings.Join(got, "\n")
	for _, want := range []string{
		`unknown flag: --datset`,
		`required flag(s) "dataset" not set`,
		`"tool nosuch"`,
		`example "echo hello" does not run tool`,
		`tool quiet: no Examples in its help`,
	} {
		if !strings.Contains(all, want) {
			t.Errorf("Lint did not report %s:\n%s", want, all)
		}
	}
	if len(got) != 5 {
		t.Errorf("Lint reported %d problems, want 5:\n%s", len(got), all)
	}
}
