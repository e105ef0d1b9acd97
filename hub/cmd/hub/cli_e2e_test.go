package main_test

import (
	"bytes"
	"debug/buildinfo"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/hub/internal/api"
	"github.com/jobtech-dev/datahub/hub/internal/audit"
	"github.com/jobtech-dev/datahub/hub/internal/hubtest"
	ourbuild "github.com/jobtech-dev/datahub/internal/buildinfo"
)

// --version and version print the module version and commit the
// toolchain stamped into the binary.
func TestVersion(t *testing.T) {
	t.Parallel()
	bi, err := buildinfo.ReadFile(hubBin)
	if err != nil {
		t.Fatal(err)
	}
	want := "hub (JobTech Data Hub) " + ourbuild.From(bi).String() + "\n"
	for _, args := range [][]string{{"--version"}, {"version"}} {
		out, errOut, code := run(t, nil, args...)
		if code != 0 || out != want {
			t.Errorf("hub %v: exit %d, %q%s\nwant %q", args, code, out, errOut, want)
		}
	}
	if !strings.Contains(want, bi.Main.Version) || !strings.Contains(want, bi.GoVersion) {
		t.Fatalf("%q lacks the module version %q or the toolchain %q", want, bi.Main.Version, bi.GoVersion)
	}
}

// strictJSON decodes b into v refusing unknown fields: the output is the
// API's own type, nothing more or else.
func strictJSON(t *testing.T, what string, b []byte, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s -o json is not the API's type: %v\n%s", what, err, b)
	}
}

// apiGet fetches path from the admin API as raw JSON.
func apiGet(t *testing.T, h *hubProc, data, path string) []byte {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, h.httpURL+path, nil)
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(hubtest.ReadFile(t, filepath.Join(data, "admin.token")))))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
	}
	return b
}

func sameJSON(t *testing.T, what string, got, want []byte) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("%s (API): %v", what, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("%s -o json differs from the API's answer:\n%s\nAPI:\n%s", what, got, want)
	}
}

// The hub CLI's manner against one running hub: -o json is the API's own
// answer, exit statuses by class, --quiet, apply warnings, completion.
func TestCLIManner(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	h := serve(t, data)
	common := []string{"--hub-url", h.httpURL, "--data", data}
	hub := func(args ...string) (string, string, int) {
		t.Helper()
		return run(t, nil, append(args, common...)...)
	}
	ads := filepath.Join(hubtest.JobTechData(), "job-ads.ndjson")
	bad := filepath.Join(hubtest.SchemasDir(), "jobads", "examples", "invalid", "headline-not-string.json")
	if out, errOut, code := hub("actor", "create", "jobbland", "--out", filepath.Join(t.TempDir(), "jobbland.nk")); code != 0 {
		t.Fatalf("actor create: %d %s%s", code, out, errOut)
	}

	t.Run("publish --quiet prints only what was not stored", func(t *testing.T) {
		out, errOut, code := hub("publish", "--quiet", "--dataset", "jobads", ads, bad)
		if code != 1 || strings.Contains(out, ": stored") || !strings.Contains(out, "headline-not-string.json:1: rejected: 1 violation(s)") ||
			!strings.Contains(out, "3 stored, 0 duplicates, 1 not stored") {
			t.Fatalf("publish -q: exit %d\n%s%s", code, out, errOut)
		}
		// --id-from: the same file again stores nothing twice.
		for i, want := range []string{"3 stored, 0 duplicates", "0 stored, 3 duplicates"} {
			if out, errOut, code := hub("publish", "-q", "--id-from", "id", "--dataset", "jobads", ads); code != 0 || strings.TrimSpace(out) != want+", 0 not stored" {
				t.Fatalf("publish --id-from id, run %d: exit %d\n%s%s", i+1, code, out, errOut)
			}
		}
	})

	t.Run("-o json is the API's own answer", func(t *testing.T) {
		for _, tc := range []struct {
			args []string
			path string
			v    any
		}{
			{[]string{"datasets"}, "/api/v1/datasets", &[]api.DatasetInfo{}},
			{[]string{"actor", "list"}, "/api/v1/actors", &[]api.ActorInfo{}},
			{[]string{"policy", "list"}, "/api/v1/policies", &api.PolicyState{}},
			{[]string{"policy", "check", "--actor", "jobbland", "--action", "publish", "--dataset", "jobads"}, "/api/v1/policies/check?actor=jobbland&action=publish&dataset=jobads", &api.CheckResult{}},
			{[]string{"policy", "explain", "ifau"}, "/api/v1/policies/explain?actor=ifau", &[]api.ExplainLine{}},
			{[]string{"audit", "verify"}, "", &audit.Report{}},
		} {
			out, errOut, code := hub(append(tc.args, "-o", "json")...)
			if code != 0 {
				t.Fatalf("%v -o json: exit %d %s", tc.args, code, errOut)
			}
			strictJSON(t, strings.Join(tc.args, " "), []byte(out), tc.v)
			if tc.path != "" {
				sameJSON(t, strings.Join(tc.args, " "), []byte(out), apiGet(t, h, data, tc.path))
			}
		}
		// The streams: one API value per line.
		out, _, code := hub("deadletters", "--dataset", "jobads", "-o", "json")
		var dl wire.DeadLetter
		if strictJSON(t, "deadletters", []byte(out), &dl); code != 0 || dl.Reason == "" || strings.Count(out, "\n") != 1 {
			t.Fatalf("deadletters -o json: %d %s", code, out)
		}
		out, _, code = hub("audit", "tail", "-n", "0", "-o", "json")
		lines := strings.Split(strings.TrimSpace(out), "\n")
		for _, l := range lines {
			var e audit.Entry
			strictJSON(t, "audit tail", []byte(l), &e)
		}
		if code != 0 || len(lines) < 2 {
			t.Fatalf("audit tail -o json: %d %s", code, out)
		}
		// The tables are for people: headers, no JSON.
		for args, header := range map[string]string{"datasets": "NAME", "actor list": "NAME", "policy list": "ID", "policy explain ifau": "DATASET",
			"audit tail": "TIME", "deadletters --dataset jobads": "SEQ"} {
			out, _, code := hub(strings.Fields(args)...)
			if code != 0 || !strings.HasPrefix(out, header) || strings.HasPrefix(strings.TrimSpace(out), "{") {
				t.Errorf("%s: exit %d, want a table starting with %s:\n%s", args, code, header, out)
			}
		}
	})

	t.Run("exit status by class", func(t *testing.T) {
		closed := func() string {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := ln.Addr().String()
			ln.Close()
			return "http://" + addr
		}()
		web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			_, _ = io.WriteString(w, "<html>Welcome</html>")
		}))
		defer web.Close()
		policies := t.TempDir()
		if err := os.WriteFile(filepath.Join(policies, "broken.json"), []byte(`[{"id":"x","description":"x","subjects":["actor:a"],"resources":["dataset:jobads"],"actions":["delete"],"effect":"allow"}]`), 0o600); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name string
			args []string
			env  []string
			code int
			want string
		}{
			{"allowed", []string{"policy", "check", "--actor", "jobbland", "--action", "publish", "--dataset", "jobads"}, nil, 0, ""},
			// 1: the answer is no.
			{"deny", []string{"policy", "check", "--actor", "yrkeshogskolan", "--action", "subscribe", "--dataset", "jobads"}, nil, 1, ""},
			{"record rejected", []string{"publish", "--dataset", "jobads", bad}, nil, 1, ""},
			{"wrong token", []string{"datasets"}, []string{"HUB_TOKEN=wrong"}, 1, "401"},
			{"actor exists", []string{"actor", "create", "jobbland", "--out", filepath.Join(t.TempDir(), "again.nk")}, nil, 1, "409"},
			{"invalid policy file", []string{"policy", "apply", "-f", policies}, nil, 1, "broken.json"},
			// 2: usage.
			{"unknown command", []string{"publsh"}, nil, 2, "Did you mean this?\n\tpublish"},
			{"unknown subcommand", []string{"actor", "nosuch", "--hub-url", h.httpURL}, nil, 2, `unknown`},
			{"unknown flag", []string{"datasets", "--bogus"}, nil, 2, "Run 'hub datasets --help'"},
			{"bad -o", []string{"datasets", "-o", "yaml"}, nil, 2, "want table or json"},
			{"missing required flag", []string{"read"}, nil, 2, `"dataset" not set`},
			{"unknown action", []string{"policy", "check", "--actor", "jobbland", "--action", "pubish", "--dataset", "jobads"}, nil, 2, `unknown action "pubish"`},
			{"unknown dataset in check", []string{"policy", "check", "--actor", "jobbland", "--action", "publish", "--dataset", "jobadz"}, nil, 2, `dataset "jobadz" is not declared`},
			{"unknown dataset in explain", []string{"policy", "explain", "ifau", "--dataset", "jobadz"}, nil, 2, `dataset "jobadz" is not declared`},
			{"unknown dataset in read", []string{"read", "--dataset", "nosuch"}, nil, 2, "404"},
			{"missing file", []string{"publish", "--dataset", "jobads", filepath.Join(t.TempDir(), "nosuch.ndjson")}, nil, 2, "no such file"},
			// 2: operational.
			{"unreachable hub", []string{"datasets", "--data", data, "--hub-url", closed}, nil, 2, "unreachable"},
			{"not a hub", []string{"datasets", "--data", data, "--hub-url", web.URL}, nil, 2, "not a JobTech Data Hub API"},
		} {
			args := tc.args
			if !slices.Contains(args, "--hub-url") {
				args = append(args, common...)
			}
			out, errOut, code := run(t, tc.env, args...)
			if code != tc.code || !strings.Contains(errOut, tc.want) {
				t.Errorf("%s (hub %s): exit %d, want %d with %q\n%s%s", tc.name, strings.Join(tc.args, " "), code, tc.code, tc.want, out, errOut)
			}
		}
		// Offline.
		if _, errOut, code := run(t, nil, "validate", "--dataset", "jobads", "--schemas", hubtest.SchemasDir(), filepath.Join(t.TempDir(), "nosuch.json")); code != 2 {
			t.Errorf("validate a missing file: exit %d %s", code, errOut)
		}
		if _, _, code := run(t, nil, "validate", "--dataset", "jobads", "--schemas", hubtest.SchemasDir(), bad); code != 1 {
			t.Errorf("validate an invalid record: exit %d, want 1", code)
		}
	})

	t.Run("apply warns of names the hub does not know", func(t *testing.T) {
		dir := t.TempDir()
		p := `[{"id":"typo","description":"x","subjects":["actor:jobblnd"],"resources":["dataset:jobadz"],"actions":["publish"],"effect":"allow"},
		{"id":"ok","description":"x","subjects":["actor:jobbland"],"resources":["dataset:jobads"],"actions":["publish"],"effect":"allow"}]`
		if err := os.WriteFile(filepath.Join(dir, "p.json"), []byte(p), 0o600); err != nil {
			t.Fatal(err)
		}
		out, errOut, code := hub("policy", "apply", "-f", dir)
		if code != 0 || !strings.Contains(out, "applied 2 policies") ||
			!strings.Contains(errOut, `warning: policy "typo" (p.json) names actor "jobblnd", which is not registered on this hub`) ||
			!strings.Contains(errOut, `warning: policy "typo" (p.json) names dataset "jobadz", which is not declared on this hub`) {
			t.Fatalf("apply with unknown names: exit %d\n%s%s", code, out, errOut)
		}
	})

	t.Run("completion asks the hub", func(t *testing.T) {
		complete := func(args ...string) []string {
			t.Helper()
			out, errOut, code := run(t, nil, append([]string{"__complete"}, args...)...)
			if code != 0 {
				t.Fatalf("__complete %v: %d %s", args, code, errOut)
			}
			var got []string
			for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
				name, _, _ := strings.Cut(l, "\t")
				got = append(got, name)
			}
			return got
		}
		want := []string{"education-offerings", "gig-assignments", "job-postings", "jobads", "taxonomy-concepts", ":4"}
		for _, args := range [][]string{
			append([]string{"read"}, append(common, "--dataset", "")...),
			append([]string{"policy", "check"}, append(common, "--dataset", "")...),
			append([]string{"publish"}, append(common, "-d", "")...),
		} {
			if got := complete(args...); !reflect.DeepEqual(got, want) {
				t.Errorf("complete %v: %q, want %q", args, got, want)
			}
		}
		if got := complete(append([]string{"read"}, append(common, "--dataset", "tax")...)...); !reflect.DeepEqual(got, []string{"taxonomy-concepts", ":4"}) {
			t.Errorf("complete --dataset tax: %q", got)
		}
		if got := complete(append([]string{"actor", "revoke"}, append(common, "")...)...); !reflect.DeepEqual(got, []string{"jobbland", ":4"}) {
			t.Errorf("complete actor revoke: %q", got)
		}
		// The script bash sources: it parses, and it asks the binary.
		script, _, code := run(t, nil, "completion", "bash")
		if code != 0 || !strings.Contains(script, "__start_hub") || !strings.Contains(script, "__complete") {
			t.Fatalf("completion bash: %d", code)
		}
		if bash, err := exec.LookPath("bash"); err == nil {
			cmd := exec.Command(bash, "-n")
			cmd.Stdin = strings.NewReader(script)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("bash -n on the completion script: %v %s", err, out)
			}
		}
	})
	h.stop(t)
}

// An unknown subcommand is a usage error, not the group's help with exit 0.
func TestUnknownSubcommandIsAUsageError(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"actor", "nosuch"}, {"policy", "chek"}, {"audit", "nosuch"}} {
		out, errOut, code := run(t, nil, args...)
		if code != 2 || !strings.Contains(errOut, fmt.Sprintf("unknown command %q for \"hub %s\"", args[1], args[0])) || out != "" {
			t.Errorf("hub %v: exit %d\n%s%s", args, code, out, errOut)
		}
	}
	if _, errOut, _ := run(t, nil, "policy", "chek"); !strings.Contains(errOut, "Did you mean this?\n\tcheck") {
		t.Errorf("no suggestion for chek: %s", errOut)
	}
	if out, _, code := run(t, nil, "actor"); code != 0 || !strings.Contains(out, "Available Commands:") {
		t.Errorf("hub actor alone: exit %d, want its help\n%s", code, out)
	}
}
