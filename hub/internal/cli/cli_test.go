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
	n := 0
	var count func(*cobra.Command)
	count = func(c *cobra.Command) {
		n++
		for _, s := range c.Commands() {
			count(s)
		}
	}
	count(newTree())
	if n < 25 {
		t.Fatalf("walked %d commands: the tree is not the whole CLI", n)
	}
}
