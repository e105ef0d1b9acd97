// Package deploy_test checks the deployment files against the code: no
// container runtime runs in the tests, so each manifest is parsed and every
// binary, flag, port, path, volume, secret and config it names is checked
// against the real binaries (`hub serve --help`, `connector run --help`),
// the Makefile and the repository.
package deploy_test

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
)

var (
	root                 string // the repository
	hubBin, connectorBin string
)

func TestMain(m *testing.M) {
	_, file, _, _ := runtime.Caller(0)
	root = filepath.Dir(filepath.Dir(file))
	dir, err := os.MkdirTemp("", "deploy-test-bin")
	if err != nil {
		panic(err)
	}
	hubBin, connectorBin = filepath.Join(dir, "hub"), filepath.Join(dir, "connector")
	for out, pkg := range map[string]string{hubBin: "./hub/cmd/hub", connectorBin: "./connector-kit/cmd/connector"} {
		cmd := exec.Command("go", "build", "-o", out, pkg)
		cmd.Dir, cmd.Stderr = root, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "build", pkg, err)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// flagsOf lists the long flags a command's --help shows.
func flagsOf(t *testing.T, bin string, args ...string) map[string]bool {
	t.Helper()
	out, err := exec.Command(bin, append(args, "--help")...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v --help: %v\n%s", bin, args, err, out)
	}
	flags := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^\s+(?:-\w, )?--([a-z0-9-]+)`).FindAllStringSubmatch(string(out), -1) {
		flags[m[1]] = true
	}
	if len(flags) < 3 {
		t.Fatalf("%s %v --help shows no flags:\n%s", bin, args, out)
	}
	return flags
}

// checkFlags fails for each --flag of args that flags does not know.
func checkFlags(t *testing.T, where string, args []string, flags map[string]bool) {
	t.Helper()
	for _, a := range args {
		if name, ok := strings.CutPrefix(a, "--"); ok {
			name, _, _ = strings.Cut(name, "=")
			if !flags[name] {
				t.Errorf("%s: flag --%s does not exist", where, name)
			}
		}
	}
}

// flagValue is the value of --name in args ("" if absent).
func flagValue(args []string, name string) string {
	for i, a := range args {
		if a == "--"+name && i+1 < len(args) {
			return args[i+1]
		}
		if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			return v
		}
	}
	return ""
}

func portOf(t *testing.T, addr string) string {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("address %q: %v", addr, err)
	}
	return p
}

func readFile(t *testing.T, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func exists(rel string) bool {
	_, err := os.Stat(filepath.Join(root, rel))
	return err == nil
}

// stage is one FROM of a Dockerfile with its instructions.
type stage struct {
	from, name string
	lines      []string // instructions, continuation lines joined
}

func parseDockerfile(t *testing.T, rel string) []stage {
	t.Helper()
	var stages []stage
	sc := bufio.NewScanner(bytes.NewReader(readFile(t, rel)))
	var cur string
	flush := func() {
		line := strings.TrimSpace(cur)
		cur = ""
		if line == "" {
			return
		}
		if f := strings.Fields(line); strings.EqualFold(f[0], "FROM") {
			s := stage{from: f[1]}
			if len(f) == 4 && strings.EqualFold(f[2], "AS") {
				s.name = f[3]
			}
			stages = append(stages, s)
			return
		}
		if len(stages) == 0 {
			t.Fatalf("%s: %q before any FROM", rel, line)
		}
		stages[len(stages)-1].lines = append(stages[len(stages)-1].lines, line)
	}
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		if strings.HasSuffix(line, "\\") {
			cur += strings.TrimSuffix(line, "\\") + " "
			continue
		}
		cur += line
		flush()
	}
	flush()
	return stages
}

func (s stage) with(instr string) []string {
	var out []string
	for _, l := range s.lines {
		if f := strings.Fields(l); strings.EqualFold(f[0], instr) {
			out = append(out, strings.TrimSpace(l[len(f[0]):]))
		}
	}
	return out
}

// jsonArgs reads an exec-form instruction: ["a", "b"].
func jsonArgs(t *testing.T, s string) []string {
	t.Helper()
	if i := strings.Index(s, "["); i >= 0 {
		s = s[i:]
	}
	var out []string
	if err := yaml.Unmarshal([]byte(s), &out); err != nil {
		t.Fatalf("exec form %q: %v", s, err)
	}
	return out
}

// makeBuild is what `make build` builds: output name → package.
func makeBuild(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	in := false
	for _, line := range strings.Split(string(readFile(t, "Makefile")), "\n") {
		if strings.HasPrefix(line, "build:") {
			in = true
			continue
		}
		if in && !strings.HasPrefix(line, "\t") {
			break
		}
		if m := regexp.MustCompile(`^\t\$\(GO\) build -o \$\(BIN\)/(\S+) (\S+)$`).FindStringSubmatch(line); in && m != nil {
			out[m[1]] = m[2]
		}
	}
	return out
}

func TestDockerfileBuildsWhatTheMakefileBuilds(t *testing.T) {
	t.Parallel()
	stages := parseDockerfile(t, "deploy/docker/Dockerfile")
	byName := map[string]stage{}
	for _, s := range stages {
		byName[s.name] = s
	}
	built := makeBuild(t)
	if built["hub"] != "./hub/cmd/hub" || built["connector"] != "./connector-kit/cmd/connector" {
		t.Fatalf("make build builds %v", built)
	}
	build, ok := byName["build"]
	if !ok || !strings.HasPrefix(build.from, "golang:") {
		t.Fatalf("no golang build stage: %+v", stages)
	}
	// The same build as the Makefile's, static.
	var makeRun bool
	for _, r := range build.with("RUN") {
		if r == "CGO_ENABLED=0 make build BIN=/out" {
			makeRun = true
		}
	}
	if !makeRun {
		t.Fatalf("the build stage does not run `CGO_ENABLED=0 make build BIN=/out`: %v", build.with("RUN"))
	}
	// The Go version of the build image is go.mod's.
	goVer := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(readFile(t, "go.mod"))
	for _, s := range stages {
		if strings.HasPrefix(s.from, "golang:") && s.from != "golang:"+string(goVer[1]) {
			t.Errorf("stage %s builds with %s, go.mod says go %s", s.name, s.from, goVer[1])
		}
	}
	final := stages[len(stages)-1]
	if final.name != "hub" {
		t.Fatalf("the default (last) stage is %q, want hub", final.name)
	}
	for _, s := range []stage{final, byName["examples"]} {
		user := s.with("USER")
		if len(user) != 1 || strings.HasPrefix(user[0], "0") || strings.HasPrefix(user[0], "root") {
			t.Errorf("stage %s runs as %v, want a non-root user", s.name, user)
		}
	}
	copied := strings.Join(final.with("COPY"), "\n")
	for name := range built {
		if !strings.Contains(copied, "/out/"+name) {
			t.Errorf("the hub image does not copy /out/%s", name)
		}
	}
	// Every file copied from the repository exists.
	for _, s := range stages {
		for _, c := range s.with("COPY") {
			f := strings.Fields(c)
			if strings.HasPrefix(f[0], "--") {
				continue // from another stage
			}
			for _, src := range f[:len(f)-1] {
				if src != "." && !exists(src) {
					t.Errorf("stage %s copies %s, which the repository does not hold", s.name, src)
				}
			}
		}
	}
	for _, pkg := range []string{"./examples/jobboard", "./examples/matcher"} {
		if !strings.Contains(strings.Join(byName["build-examples"].with("RUN"), " "), pkg) || !exists(pkg) {
			t.Errorf("the examples image does not build %s", pkg)
		}
	}
	// Ports, entrypoint, command and health check name real things.
	expose := strings.Join(final.with("EXPOSE"), " ")
	for _, p := range []string{"4222", "6222", "8080"} {
		if !strings.Contains(expose, p) {
			t.Errorf("the hub image does not expose %s", p)
		}
	}
	if ep := final.with("ENTRYPOINT"); len(ep) != 1 || jsonArgs(t, ep[0])[0] != "/usr/local/bin/hub" {
		t.Errorf("ENTRYPOINT %v", ep)
	}
	cmd := jsonArgs(t, final.with("CMD")[0])
	if cmd[0] != "serve" {
		t.Fatalf("CMD %v", cmd)
	}
	checkFlags(t, "Dockerfile CMD", cmd[1:], flagsOf(t, hubBin, "serve"))
	hc := final.with("HEALTHCHECK")
	if len(hc) != 1 {
		t.Fatalf("HEALTHCHECK %v", hc)
	}
	probe := jsonArgs(t, hc[0][strings.Index(hc[0], "CMD"):])
	if probe[0] != "/usr/local/bin/hub" || probe[1] != "status" {
		t.Fatalf("HEALTHCHECK runs %v", probe)
	}
	checkFlags(t, "HEALTHCHECK", probe[2:], flagsOf(t, hubBin, "status"))
	if portOf(t, strings.TrimPrefix(flagValue(probe, "hub-url"), "http://")) != "8080" {
		t.Errorf("HEALTHCHECK asks %s, not the API on 8080", flagValue(probe, "hub-url"))
	}
}

// clusterInitFiles are the files `hub cluster init` writes.
func clusterInitFiles(t *testing.T) map[string]bool {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command(hubBin, "cluster", "init", "--out", dir).CombinedOutput(); err != nil {
		t.Fatalf("hub cluster init: %v\n%s", err, out)
	}
	entries, _ := os.ReadDir(dir)
	files := map[string]bool{}
	for _, e := range entries {
		files[e.Name()] = true
	}
	return files
}

type composeService struct {
	Build       map[string]string `yaml:"build"`
	Hostname    string            `yaml:"hostname"`
	Command     []string          `yaml:"command"`
	Entrypoint  []string          `yaml:"entrypoint"`
	Ports       []string          `yaml:"ports"`
	Volumes     []string          `yaml:"volumes"`
	NetworkMode string            `yaml:"network_mode"`
	Secrets     []struct {
		Source string `yaml:"source"`
		Target string `yaml:"target"`
	} `yaml:"secrets"`
	DependsOn any `yaml:"depends_on"`
}

type composeFile struct {
	Services map[string]composeService `yaml:"services"`
	Secrets  map[string]struct {
		File string `yaml:"file"`
	} `yaml:"secrets"`
	Volumes map[string]any `yaml:"volumes"`
}

func TestComposeRunsTheRealBinariesWithRealFlags(t *testing.T) {
	t.Parallel()
	var c composeFile
	if err := yaml.Unmarshal(readFile(t, "deploy/compose/compose.yaml"), &c); err != nil {
		t.Fatal(err)
	}
	serve, run := flagsOf(t, hubBin, "serve"), flagsOf(t, connectorBin, "run")
	stages := map[string]bool{}
	for _, s := range parseDockerfile(t, "deploy/docker/Dockerfile") {
		stages[s.name] = true
	}
	initFiles := clusterInitFiles(t)
	// Secrets are the files `hub cluster init` writes.
	for name, s := range c.Secrets {
		if !initFiles[filepath.Base(s.File)] || filepath.Dir(s.File) != "secrets" {
			t.Errorf("secret %s is %s, not one of the files hub cluster init --out deploy/compose/secrets writes (%v)", name, s.File, initFiles)
		}
	}
	var hubs []string
	for name, s := range c.Services {
		if s.Build["dockerfile"] != "deploy/docker/Dockerfile" || !stages[s.Build["target"]] || s.Build["context"] != "../.." {
			t.Errorf("service %s builds %v: not a stage of deploy/docker/Dockerfile from the repository root", name, s.Build)
		}
		mounted := map[string]string{} // container path → source
		for _, v := range s.Volumes {
			parts := strings.Split(v, ":")
			src, dst := parts[0], parts[1]
			mounted[dst] = src
			if strings.HasPrefix(src, ".") {
				if !exists(filepath.Join("deploy/compose", src)) {
					t.Errorf("service %s mounts %s, which does not exist", name, src)
				}
			} else if _, ok := c.Volumes[src]; !ok {
				t.Errorf("service %s mounts volume %s, which is not declared", name, src)
			}
		}
		secretAt := map[string]bool{}
		for _, sec := range s.Secrets {
			if _, ok := c.Secrets[sec.Source]; !ok {
				t.Errorf("service %s uses undeclared secret %s", name, sec.Source)
			}
			secretAt["/run/secrets/"+sec.Target] = true
		}
		if len(s.Command) == 0 {
			continue
		}
		switch s.Command[0] {
		case "serve":
			hubs = append(hubs, name)
			checkFlags(t, "service "+name, s.Command[1:], serve)
			if flagValue(s.Command, "node-name") != name || s.Hostname != name {
				t.Errorf("service %s: node name %q, host name %q", name, flagValue(s.Command, "node-name"), s.Hostname)
			}
			for flag, port := range map[string]string{"nats-listen": "4222", "http-listen": "8080", "cluster-listen": "6222"} {
				if portOf(t, flagValue(s.Command, flag)) != port {
					t.Errorf("service %s: --%s %s, want port %s", name, flag, flagValue(s.Command, flag), port)
				}
			}
			for _, adv := range []string{"nats-advertise", "cluster-advertise"} {
				if host, _, _ := net.SplitHostPort(flagValue(s.Command, adv)); host != name {
					t.Errorf("service %s: --%s %s does not name the service", name, adv, flagValue(s.Command, adv))
				}
			}
			var published []string
			for _, p := range s.Ports {
				published = append(published, p[strings.LastIndex(p, ":")+1:])
			}
			if strings.Join(published, ",") != "4222,8080" {
				t.Errorf("service %s publishes container ports %v, want the NATS and HTTP ports", name, published)
			}
			for flag, dir := range map[string]string{"data": flagValue(s.Command, "data"), "audit-anchor-file": filepath.Dir(flagValue(s.Command, "audit-anchor-file"))} {
				if src := mounted[dir]; src == "" || strings.HasPrefix(src, ".") {
					t.Errorf("service %s: --%s is in %s, which is not a volume", name, flag, dir)
				}
			}
			for _, flag := range []string{"schemas", "policies"} {
				if v := flagValue(s.Command, flag); v != "" && mounted[v] == "" {
					t.Errorf("service %s: --%s %s is not mounted", name, flag, v)
				}
			}
			for _, flag := range []string{"cluster-secret-file", "admin-token-file", "audit-anchor-key"} {
				if !secretAt[flagValue(s.Command, flag)] {
					t.Errorf("service %s: --%s %s is not one of its secrets", name, flag, flagValue(s.Command, flag))
				}
			}
			for _, r := range strings.Split(flagValue(s.Command, "routes"), ",") {
				host, port, _ := net.SplitHostPort(r)
				if _, ok := c.Services[host]; !ok || port != "6222" {
					t.Errorf("service %s routes to %s: not a hub service's cluster port", name, r)
				}
			}
		case "connector":
			if s.Command[1] != "run" {
				t.Fatalf("service %s runs connector %s", name, s.Command[1])
			}
			checkFlags(t, "service "+name, s.Command[2:], run)
		}
	}
	if len(hubs) != 3 {
		t.Fatalf("hub services %v, want three", hubs)
	}
	// The job board's app reaches its connector on loopback, in its namespace.
	jb, jc := c.Services["jobboard"], c.Services["jobboard-connector"]
	if jb.NetworkMode != "service:jobboard-connector" || portOf(t, strings.TrimPrefix(flagValue(jb.Command, "sidecar"), "http://")) != portOf(t, flagValue(jc.Command, "listen")) {
		t.Errorf("jobboard reaches %s in %s; its connector listens on %s", flagValue(jb.Command, "sidecar"), jb.NetworkMode, flagValue(jc.Command, "listen"))
	}
	if !exists(filepath.Join("testdata/jobtech", filepath.Base(flagValue(jb.Command, "file")))) {
		t.Errorf("jobboard posts %s, not a file of testdata/jobtech", flagValue(jb.Command, "file"))
	}
	// The matcher receives its connector's webhooks on loopback.
	var mc struct {
		Hub struct {
			Credentials string `yaml:"credentials"`
		} `yaml:"hub"`
		Outputs []struct {
			Type   string            `yaml:"type"`
			Config map[string]string `yaml:"config"`
		} `yaml:"outputs"`
	}
	if err := yaml.Unmarshal(readFile(t, "deploy/compose/matcher-connector.yaml"), &mc); err != nil {
		t.Fatal(err)
	}
	m := c.Services["matcher"]
	hook := strings.TrimPrefix(mc.Outputs[0].Config["url"], "http://")
	if m.NetworkMode != "service:matcher-connector" || portOf(t, hook[:strings.Index(hook, "/")]) != portOf(t, flagValue(m.Command, "listen")) {
		t.Errorf("the matcher connector posts to %s; the matcher listens on %s in %s", mc.Outputs[0].Config["url"], flagValue(m.Command, "listen"), m.NetworkMode)
	}
	// The setup creates the credentials files the connectors read.
	setup := strings.Join(c.Services["setup"].Command, "\n")
	for _, creds := range []string{flagValue(jc.Command, "credentials"), mc.Hub.Credentials} {
		actor := strings.TrimSuffix(filepath.Base(creds), ".nk")
		if !strings.Contains(setup, actor) || !strings.Contains(setup, "/creds/$$actor.nk") || filepath.Dir(creds) != "/creds" {
			t.Errorf("no setup step creates %s", creds)
		}
	}
	for _, cmd := range []string{"hub policy apply -f /etc/jobtech-hub/policies", "hub actor create"} {
		if !strings.Contains(setup, cmd) {
			t.Errorf("setup does not run %q", cmd)
		}
	}
}

// object is a Kubernetes object, as far as the tests read it.
type object struct {
	Kind     string `yaml:"kind"`
	Metadata struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	Data       map[string]string `yaml:"data"`
	StringData map[string]string `yaml:"stringData"`
	Spec       map[string]any    `yaml:"spec"`
}

func k8sObjects(t *testing.T) map[string]map[string]object {
	t.Helper()
	out := map[string]map[string]object{}
	files, _ := filepath.Glob(filepath.Join(root, "deploy", "k8s", "*.yaml"))
	if len(files) < 4 {
		t.Fatalf("deploy/k8s holds %v", files)
	}
	for _, f := range files {
		b, _ := os.ReadFile(f)
		dec := yaml.NewDecoder(bytes.NewReader(b))
		for {
			var o object
			if err := dec.Decode(&o); err != nil {
				if err.Error() == "EOF" {
					break
				}
				t.Fatalf("%s: %v", f, err)
			}
			if o.Kind == "" {
				continue
			}
			if out[o.Kind] == nil {
				out[o.Kind] = map[string]object{}
			}
			out[o.Kind][o.Metadata.Name] = o
		}
	}
	return out
}

// get walks a decoded YAML value: get(v, "template", "spec", "containers").
func get(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			s, _ := v.([]any)
			if k >= len(s) {
				return nil
			}
			v = s[k]
		}
	}
	return v
}

func str(v any) string {
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

func TestKubernetesManifestsRunTheRealHub(t *testing.T) {
	t.Parallel()
	objs := k8sObjects(t)
	serve, run := flagsOf(t, hubBin, "serve"), flagsOf(t, connectorBin, "run")
	ss, ok := objs["StatefulSet"]["hub"]
	if !ok {
		t.Fatal("no StatefulSet hub")
	}
	replicas := str(get(ss.Spec, "replicas"))
	if replicas != "3" || str(get(ss.Spec, "podManagementPolicy")) != "Parallel" {
		t.Errorf("StatefulSet: replicas %s, podManagementPolicy %v", replicas, get(ss.Spec, "podManagementPolicy"))
	}
	headless := objs["Service"][str(get(ss.Spec, "serviceName"))]
	if str(get(headless.Spec, "clusterIP")) != "None" || get(headless.Spec, "publishNotReadyAddresses") != true {
		t.Errorf("the StatefulSet's service %s is not headless and publishing pods before they are ready", get(ss.Spec, "serviceName"))
	}
	pod := get(ss.Spec, "template", "spec")
	labels, _ := get(ss.Spec, "template", "metadata", "labels").(map[string]any)
	matches := func(sel any) bool {
		m, _ := sel.(map[string]any)
		if len(m) == 0 {
			return false
		}
		for k, v := range m {
			if labels[k] != v {
				return false
			}
		}
		return true
	}
	if get(pod, "securityContext", "runAsNonRoot") != true {
		t.Error("the hub pod may run as root")
	}
	c := get(pod, "containers", 0)
	var args []string
	for _, a := range get(c, "args").([]any) {
		args = append(args, str(a))
	}
	if args[0] != "serve" {
		t.Fatalf("the hub container runs %v", args)
	}
	checkFlags(t, "StatefulSet hub", args[1:], serve)
	// Its config file: the hub-config ConfigMap, mounted where --config says.
	var cfg struct {
		NATSListen        string   `yaml:"nats_listen"`
		HTTPListen        string   `yaml:"http_listen"`
		ClusterListen     string   `yaml:"cluster_listen"`
		Routes            []string `yaml:"routes"`
		Data              string   `yaml:"data"`
		Schemas           string   `yaml:"schemas"`
		ClusterSecretFile string   `yaml:"cluster_secret_file"`
		AdminTokenFile    string   `yaml:"admin_token_file"`
		AuditAnchorKey    string   `yaml:"audit_anchor_key"`
		AuditAnchorFile   string   `yaml:"audit_anchor_file"`
	}
	if err := yaml.Unmarshal([]byte(objs["ConfigMap"]["hub-config"].Data["hub.yaml"]), &cfg); err != nil {
		t.Fatal(err)
	}
	mounts := map[string]string{} // path → volume name
	for _, m := range get(c, "volumeMounts").([]any) {
		mounts[str(get(m, "mountPath"))] = str(get(m, "name"))
	}
	volumes := map[string]any{}
	for _, v := range get(pod, "volumes").([]any) {
		volumes[str(get(v, "name"))] = v
	}
	for _, v := range get(ss.Spec, "volumeClaimTemplates").([]any) {
		volumes[str(get(v, "metadata", "name"))] = v
	}
	for path, name := range mounts {
		v, ok := volumes[name]
		if !ok {
			t.Errorf("mount %s uses volume %s, which is not declared", path, name)
			continue
		}
		if cm := str(get(v, "configMap", "name")); cm != "" {
			if _, ok := objs["ConfigMap"][cm]; !ok {
				t.Errorf("volume %s: ConfigMap %s is not in the manifests", name, cm)
			}
		}
		if sec := str(get(v, "secret", "secretName")); sec != "" {
			if _, ok := objs["Secret"][sec]; !ok {
				t.Errorf("volume %s: Secret %s is not in the manifests", name, sec)
			}
		}
	}
	mountedIn := func(path string) string {
		for p := path; p != "/" && p != "."; p = filepath.Dir(p) {
			if n, ok := mounts[p]; ok {
				return n
			}
		}
		return ""
	}
	if mounts[flagValue(args, "config")] != "config" {
		t.Errorf("--config %s is not the mounted hub-config", flagValue(args, "config"))
	}
	if mountedIn(cfg.Data) != "data" || mountedIn(cfg.AuditAnchorFile) != "audit" {
		t.Errorf("data %s and audit anchors %s are not on their own volumes", cfg.Data, cfg.AuditAnchorFile)
	}
	secret := objs["Secret"][str(get(volumes["secrets"], "secret", "secretName"))]
	for _, f := range []string{cfg.ClusterSecretFile, cfg.AdminTokenFile, cfg.AuditAnchorKey} {
		if mountedIn(f) != "secrets" || secret.StringData[filepath.Base(f)] == "" {
			t.Errorf("%s is not a key of the mounted Secret", f)
		}
	}
	initFiles := clusterInitFiles(t)
	for k := range secret.StringData {
		if !initFiles[k] {
			t.Errorf("Secret %s key %s is not a file hub cluster init writes", secret.Metadata.Name, k)
		}
	}
	// Every dataset of the repository is mounted from its generated ConfigMap.
	decls, _ := filepath.Glob(filepath.Join(root, "schemas", "*", "dataset.yaml"))
	for _, d := range decls {
		ds := filepath.Base(filepath.Dir(d))
		name := mounts[filepath.Join(cfg.Schemas, ds)]
		if str(get(volumes[name], "configMap", "name")) != "hub-schema-"+ds {
			t.Errorf("dataset %s is not mounted from ConfigMap hub-schema-%s", ds, ds)
		}
	}
	// Ports: the config's, named, and what the probes and services use.
	ports := map[string]string{}
	for _, p := range get(c, "ports").([]any) {
		ports[str(get(p, "name"))] = str(get(p, "containerPort"))
	}
	for name, addr := range map[string]string{"nats": cfg.NATSListen, "http": cfg.HTTPListen, "cluster": cfg.ClusterListen} {
		if ports[name] != portOf(t, addr) {
			t.Errorf("container port %s is %s, the config listens on %s", name, ports[name], addr)
		}
	}
	for probe, path := range map[string]string{"readinessProbe": "/readyz", "livenessProbe": "/healthz", "startupProbe": "/healthz"} {
		if str(get(c, probe, "httpGet", "path")) != path || str(get(c, probe, "httpGet", "port")) != "http" {
			t.Errorf("%s: %v", probe, get(c, probe))
		}
	}
	if get(c, "resources", "requests", "cpu") == nil || get(c, "resources", "requests", "memory") == nil {
		t.Error("the hub container requests no resources")
	}
	for _, svc := range objs["Service"] {
		if !matches(get(svc.Spec, "selector")) {
			continue
		}
		for _, p := range get(svc.Spec, "ports").([]any) {
			if _, ok := ports[str(get(p, "targetPort"))]; !ok {
				t.Errorf("Service %s targets port %v, which the pod does not name", svc.Metadata.Name, get(p, "targetPort"))
			}
		}
	}
	if _, ok := objs["Service"]["hub-client"]; !ok {
		t.Error("no client Service")
	}
	// Each pod tells clients and the other nodes its stable name.
	for flag, port := range map[string]string{"nats-advertise": ports["nats"], "cluster-advertise": ports["cluster"]} {
		if want := "$(POD_NAME)." + headless.Metadata.Name + ":" + port; flagValue(args, flag) != want {
			t.Errorf("--%s %s, want %s", flag, flagValue(args, flag), want)
		}
	}
	// Routes: every pod of the StatefulSet by its stable name, on the cluster port.
	if len(cfg.Routes) != 3 {
		t.Fatalf("routes %v", cfg.Routes)
	}
	for i, r := range cfg.Routes {
		if want := fmt.Sprintf("hub-%d.%s:%s", i, headless.Metadata.Name, ports["cluster"]); r != want {
			t.Errorf("route %d is %s, want %s", i, r, want)
		}
	}
	// A majority stays up through voluntary disruptions.
	pdb := objs["PodDisruptionBudget"]["hub"]
	if str(get(pdb.Spec, "minAvailable")) != "2" || !matches(get(pdb.Spec, "selector", "matchLabels")) {
		t.Errorf("PodDisruptionBudget %v", pdb.Spec)
	}
	// secretKeyRefs name keys that exist.
	for _, kind := range []string{"StatefulSet", "Deployment"} {
		for name, o := range objs[kind] {
			for _, ct := range get(o.Spec, "template", "spec", "containers").([]any) {
				env, _ := get(ct, "env").([]any)
				for _, e := range env {
					ref := get(e, "valueFrom", "secretKeyRef")
					if ref == nil {
						continue
					}
					if s, ok := objs["Secret"][str(get(ref, "name"))]; !ok || s.StringData[str(get(ref, "key"))] == "" {
						t.Errorf("%s %s: secretKeyRef %v is not in the manifests", kind, name, ref)
					}
				}
			}
		}
	}
	// The actor beside the hub: its connector and matcher.
	dep := objs["Deployment"]["matchwise"]
	var conn, matcher any
	for _, ct := range get(dep.Spec, "template", "spec", "containers").([]any) {
		switch str(get(ct, "name")) {
		case "connector":
			conn = ct
		case "matcher":
			matcher = ct
		}
	}
	var cargs, margs []string
	for _, a := range get(conn, "args").([]any) {
		cargs = append(cargs, str(a))
	}
	for _, a := range get(matcher, "args").([]any) {
		margs = append(margs, str(a))
	}
	if cargs[0] != "connector" || cargs[1] != "run" || margs[0] != "matcher" {
		t.Fatalf("matchwise runs %v and %v", cargs, margs)
	}
	checkFlags(t, "Deployment matchwise", cargs[2:], run)
	var cc struct {
		Hub struct {
			URL         string `yaml:"url"`
			Credentials string `yaml:"credentials"`
		} `yaml:"hub"`
		Listen  string `yaml:"listen"`
		Outputs []struct {
			Config map[string]string `yaml:"config"`
		} `yaml:"outputs"`
	}
	if err := yaml.Unmarshal([]byte(objs["ConfigMap"]["matchwise-connector"].Data["connector.yaml"]), &cc); err != nil {
		t.Fatal(err)
	}
	hook := strings.TrimPrefix(cc.Outputs[0].Config["url"], "http://")
	if portOf(t, hook[:strings.Index(hook, "/")]) != portOf(t, flagValue(margs, "listen")) {
		t.Errorf("the connector posts to %s; the matcher listens on %s", cc.Outputs[0].Config["url"], flagValue(margs, "listen"))
	}
	if host, port, _ := net.SplitHostPort(strings.TrimPrefix(cc.Hub.URL, "nats://")); objs["Service"][host].Metadata.Name == "" || port != ports["nats"] {
		t.Errorf("the connector's hub %s is not the client Service's NATS port", cc.Hub.URL)
	}
	if str(get(conn, "readinessProbe", "httpGet", "path")) != "/healthz" || portOf(t, cc.Listen) != "8182" {
		t.Errorf("connector probe %v, listen %s", get(conn, "readinessProbe"), cc.Listen)
	}
}

func TestKubernetesConfigMapsAreUpToDate(t *testing.T) {
	t.Parallel()
	cmd := exec.Command("go", "run", "./deploy/k8s/gen", "-check")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	// And they hold the repository's files byte for byte.
	objs := k8sObjects(t)
	for _, decl := range []string{"schemas/jobads/dataset.yaml", "schemas/jobads/jobad.schema.json", "schemas/taxonomy-concepts/concept.schema.json"} {
		cm := objs["ConfigMap"]["hub-schema-"+filepath.Base(filepath.Dir(decl))]
		if cm.Data[filepath.Base(decl)] != string(readFile(t, decl)) {
			t.Errorf("ConfigMap %s key %s differs from %s", cm.Metadata.Name, filepath.Base(decl), decl)
		}
	}
	if objs["ConfigMap"]["hub-policies"].Data["groups.yaml"] != string(readFile(t, "policies/groups.yaml")) {
		t.Error("ConfigMap hub-policies differs from policies/groups.yaml")
	}
}

func TestSystemdUnitsRunTheClusterConfig(t *testing.T) {
	t.Parallel()
	unit := string(readFile(t, "deploy/systemd/jobtech-hub.service"))
	exec := regexp.MustCompile(`(?m)^ExecStart=(.*)$`).FindStringSubmatch(unit)
	if exec == nil {
		t.Fatal("no ExecStart")
	}
	args := strings.Fields(exec[1])
	if args[0] != "/usr/local/bin/hub" || args[1] != "serve" {
		t.Fatalf("ExecStart %v", args)
	}
	checkFlags(t, "jobtech-hub.service", args[2:], flagsOf(t, hubBin, "serve"))
	var cfg struct {
		Data            string `yaml:"data"`
		AuditAnchorFile string `yaml:"audit_anchor_file"`
		ClusterListen   string `yaml:"cluster_listen"`
	}
	if err := yaml.Unmarshal(readFile(t, "deploy/hub-cluster.yaml"), &cfg); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(unit, "ReadWritePaths="+cfg.Data) || !strings.Contains(unit, "StateDirectory="+filepath.Base(filepath.Dir(cfg.AuditAnchorFile))) {
		t.Errorf("the unit does not let the hub write %s and %s", cfg.Data, filepath.Dir(cfg.AuditAnchorFile))
	}
	if portOf(t, cfg.ClusterListen) != "6222" {
		t.Errorf("cluster_listen %s", cfg.ClusterListen)
	}
	if !regexp.MustCompile(`(?m)^TimeoutStopSec=\d{2,}`).MatchString(unit) {
		t.Error("TimeoutStopSec under 10s: a node needs a few seconds to hand over")
	}
}
