package cli

import (
	"io"
	"testing"

	"github.com/spf13/cobra"

	"github.com/jobtech-dev/datahub/internal/clirun"
)

// Every command's help has examples, and every example parses: the
// command, its flags and its arguments exist as written.
func TestEveryCommandHasWorkingExamples(t *testing.T) {
	t.Parallel()
	newTree := func() *cobra.Command { return newRoot(io.Discard, io.Discard) }
	for _, err := range clirun.Lint(newTree, "hub") {
		t.Error(err)
	}
	if n := len(newTree().Commands()); n < 10 {
		t.Fatalf("the tree has %d commands: not the whole CLI", n)
	}
}
