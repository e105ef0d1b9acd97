package sidecar

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/jobtech-dev/datahub/connector-kit/builtin"
)

func TestConfigPathsAreRelativeToTheFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "conf", "connector.yaml")
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		t.Fatal(err)
	}
	conf := `hub: {credentials: keys/jobbland.nk, ca: /etc/ssl/hub-ca.pem, client_cert: tls/me.pem, client_key: ./tls/me.key}
state: ../state
inputs:
  - {name: ads, type: ndjson_file, dataset: jobads, config: {path: in/ads.ndjson, follow: true}}
  - {name: feed, type: jobstream, dataset: jobads, config: {url: "https://jobstream.example"}}
outputs:
  - {name: archive, type: ndjson_file, dataset: jobads, config: {path: /var/archive.ndjson}}
  - {name: copy, type: ndjson_file, dataset: jobads, config: {path: out/copy.ndjson}}
  - {name: hook, type: webhook, dataset: jobads, config: {url: "hooks/x", secret_env: S}}
  - {name: odd, type: nosuch, dataset: jobads, config: {path: x.ndjson}}
`
	if err := os.WriteFile(file, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := ReadConfig(file)
	if err != nil {
		t.Fatal(err)
	}
	base := filepath.Dir(file)
	for got, want := range map[string]string{
		c.Hub.Credentials: filepath.Join(base, "keys", "jobbland.nk"),
		c.Hub.CA:          "/etc/ssl/hub-ca.pem",
		c.Hub.ClientCert:  filepath.Join(base, "tls", "me.pem"),
		c.Hub.ClientKey:   filepath.Join(base, "tls", "me.key"),
		c.Outbox:          filepath.Join(base, "outbox"), // the default, beside the file too
		c.State:           filepath.Join(dir, "state"),
		c.Dir:             base,
	} {
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
	env, err := builtin.Environment()
	if err != nil {
		t.Fatal(err)
	}
	r := c.withPluginPaths(env)
	value := func(p PluginConfig, key string) any {
		for _, it := range p.Config {
			if it.Key == key {
				return it.Value
			}
		}
		return nil
	}
	for _, tc := range []struct {
		p         PluginConfig
		key, want string
	}{
		{r.Inputs[0], "path", filepath.Join(base, "in", "ads.ndjson")},
		{r.Inputs[1], "url", "https://jobstream.example"},
		{r.Outputs[0], "path", "/var/archive.ndjson"},
		{r.Outputs[1], "path", filepath.Join(base, "out", "copy.ndjson")},
		{r.Outputs[2], "url", "hooks/x"}, // a URL, not a path
		{r.Outputs[3], "path", "x.ndjson"},
	} {
		if got := value(tc.p, tc.key); got != tc.want {
			t.Errorf("%s %s: %v, want %s", tc.p.Name, tc.key, got, tc.want)
		}
	}
	if v := value(r.Inputs[0], "follow"); v != true {
		t.Errorf("other settings changed: follow = %v", v)
	}
	if value(c.Inputs[0], "path") != "in/ads.ndjson" {
		t.Error("withPluginPaths changed the config it was given")
	}
}
