package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
)

func TestClusterNodeConfigOfDeployLoads(t *testing.T) {
	t.Parallel()
	c, err := Load(filepath.Join("..", "..", "..", "deploy", "hub-cluster.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !c.Clustered() || len(c.Routes) != 3 || c.ClusterSecretFile == "" || c.AdminTokenFile == "" || c.DefaultReplicas() != 3 || c.ClusterNameOrDefault() != "jobtech" {
		t.Fatalf("deploy/hub-cluster.yaml: %+v", c.Cluster)
	}
}

func TestClusterSettingsAreChecked(t *testing.T) {
	t.Parallel()
	base := Default()
	base.Data = t.TempDir()
	cluster := base
	cluster.ClusterListen, cluster.Routes, cluster.ClusterSecretFile = "0.0.0.0:6222", []string{"hub-1:6222", "hub-2:6222"}, "/etc/secret"
	cluster.NodeName = "hub-1"
	if err := cluster.Validate(); err != nil {
		t.Fatalf("a valid cluster node: %v", err)
	}
	if cluster.DefaultReplicas() != 3 || base.DefaultReplicas() != 1 {
		t.Fatalf("default replicas: cluster %d, single %d", cluster.DefaultReplicas(), base.DefaultReplicas())
	}
	for name, tc := range map[string]struct {
		mut  func(*Config)
		want string
	}{
		"no secret":            {func(c *Config) { c.ClusterSecretFile = "" }, "cluster_secret_file"},
		"no routes":            {func(c *Config) { c.Routes = nil }, "routes"},
		"secret in a route":    {func(c *Config) { c.Routes = []string{"nats-route://u:p@hub-1:6222"} }, "routes[0]"},
		"route without a port": {func(c *Config) { c.Routes = []string{"hub-1"} }, "routes[0]"},
		"bad listen":           {func(c *Config) { c.ClusterListen = "6222" }, "cluster_listen"},
		"half the TLS":         {func(c *Config) { c.ClusterTLSCert = "node.pem" }, "cluster_tls_cert"},
		"node name with a dot": {func(c *Config) { c.NodeName = "hub-1.example.org" }, "node_name"},
		"too many replicas":    {func(c *Config) { c.Replicas = 7 }, "replicas"},
	} {
		c := cluster
		tc.mut(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error naming %s", name, err, tc.want)
		}
	}
	// Cluster settings on a hub that is not a cluster node are a mistake.
	single := base
	single.Routes = []string{"hub-2:6222"}
	if err := single.Validate(); err == nil || !strings.Contains(err.Error(), "cluster_listen") {
		t.Fatalf("routes without cluster_listen: %v", err)
	}
	single = base
	single.Replicas = 3
	if err := single.Validate(); err == nil || !strings.Contains(err.Error(), "replicas") {
		t.Fatalf("3 replicas alone: %v", err)
	}
}

func TestClusterKeysLoadFromYAML(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "hub.yaml")
	yml := "data: " + filepath.Join(dir, "data") + "\nnode_name: n1\ncluster_listen: 127.0.0.1:6222\nroutes: [a:6222, b:6222]\ncluster_secret_file: s\nreplicas: 2\n"
	if err := os.WriteFile(path, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.Node() != "n1" || c.Replicas != 2 || len(c.Routes) != 2 {
		t.Fatalf("loaded %+v", c.Cluster)
	}
	if err := os.WriteFile(path, []byte(yml+"cluster_sekret: x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); err == nil {
		t.Fatal("an unknown cluster key was accepted")
	}
}

// TestKubernetesConfigLoads: the hub.yaml the Kubernetes manifests carry in
// their ConfigMap is a valid cluster node config.
func TestKubernetesConfigLoads(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "deploy", "k8s", "hub.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, doc := range strings.Split(string(b), "\n---\n") {
		if !strings.Contains(doc, "kind: ConfigMap") || !strings.Contains(doc, "name: hub-config") {
			continue
		}
		var cm struct {
			Data map[string]string `yaml:"data"`
		}
		if err := yaml.Unmarshal([]byte(doc), &cm); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "hub.yaml")
		if err := os.WriteFile(path, []byte(cm.Data["hub.yaml"]), 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := Load(path)
		if err != nil {
			t.Fatalf("the hub-config ConfigMap's hub.yaml: %v", err)
		}
		if !c.Clustered() || len(c.Routes) != 3 || c.Policies != "" {
			t.Fatalf("the hub-config ConfigMap's hub.yaml reads as %+v", c)
		}
		found = true
	}
	if !found {
		t.Fatal("no hub-config ConfigMap in deploy/k8s/hub.yaml")
	}
}
