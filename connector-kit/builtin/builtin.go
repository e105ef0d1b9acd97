// Package builtin registers the connector's built-in plugins in one place:
// the jobstream and ndjson_file sources, the webhook, ndjson_file and stdout
// sinks. The connector command and an actor's own program get the same set
// from here, each plugin with its config spec.
package builtin

import (
	"fmt"
	"io"
	"strings"

	"github.com/jobtech-dev/datahub/connector-kit/jobstream"
	"github.com/jobtech-dev/datahub/connector-kit/plugin"
	filesink "github.com/jobtech-dev/datahub/connector-kit/sink/file"
	"github.com/jobtech-dev/datahub/connector-kit/sink/webhook"
	filesource "github.com/jobtech-dev/datahub/connector-kit/source/file"
)

// Register adds every built-in plugin to env.
func Register(env *plugin.Environment) error {
	for _, reg := range []func(*plugin.Environment) error{jobstream.Register, filesource.Register, webhook.Register, filesink.Register} {
		if err := reg(env); err != nil {
			return fmt.Errorf("register built-in plugins: %w", err)
		}
	}
	return nil
}

// Environment returns a new environment holding the built-in plugins.
func Environment() (*plugin.Environment, error) {
	env := plugin.NewEnvironment()
	if err := Register(env); err != nil {
		return nil, err
	}
	return env, nil
}

// WriteMarkdown writes the plugins of env as the README's table: one row
// per plugin, its fields with defaults listed in the last column.
func WriteMarkdown(w io.Writer, env *plugin.Environment) error {
	if _, err := fmt.Fprintln(w, "| kind | type | what it does | config (default) |\n|---|---|---|---|"); err != nil {
		return err
	}
	for _, p := range env.Plugins() {
		var fields []string
		for _, f := range p.Fields {
			s := "`" + f.Name + "`"
			switch {
			case f.Required:
				s += " (required)"
			case f.Default != "":
				s += " (" + f.Default + ")"
			}
			fields = append(fields, s)
		}
		if _, err := fmt.Fprintf(w, "| %s | `%s` | %s | %s |\n", p.Kind, p.Name, p.Summary, strings.Join(fields, ", ")); err != nil {
			return err
		}
	}
	return nil
}
