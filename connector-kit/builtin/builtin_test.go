package builtin_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jobtech-dev/datahub/connector-kit/builtin"
)

func TestEveryBuiltinHasAMatchingSpec(t *testing.T) {
	env, err := builtin.Environment() // Register refuses a spec that drifted from its config struct
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range env.Plugins() {
		names = append(names, p.Kind+"/"+p.Name)
	}
	want := "source/jobstream source/ndjson_file sink/ndjson_file sink/stdout sink/webhook"
	if got := strings.Join(names, " "); got != want {
		t.Fatalf("plugins %q, want %q", got, want)
	}
}

// TestREADMEPluginTable keeps the README's plugin table equal to what the
// code declares (regenerate it with `connector plugins -o markdown`).
func TestREADMEPluginTable(t *testing.T) {
	env, err := builtin.Environment()
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	if err := builtin.WriteMarkdown(&want, env); err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	const begin, end = "<!-- plugins:begin -->\n", "<!-- plugins:end -->"
	i, j := bytes.Index(readme, []byte(begin)), bytes.Index(readme, []byte(end))
	if i < 0 || j < i {
		t.Fatalf("README.md has no %q … %q section", strings.TrimSpace(begin), end)
	}
	if got := readme[i+len(begin) : j]; !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("README plugin table is stale; replace it with the output of `connector plugins -o markdown`:\n%s", want.String())
	}
}
