package main_test

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jobtech-dev/datahub/hub/internal/hubtest"
)

// hub serve --log-format json writes one JSON object per line, for journald
// and log shippers.
func TestServeLogsJSON(t *testing.T) {
	t.Parallel()
	h := serve(t, t.TempDir(), "--log-format", "json", "--log-level", "info")
	h.stop(t)
	lines := 0
	sc := bufio.NewScanner(strings.NewReader(h.stderr.String()))
	for sc.Scan() {
		var rec struct {
			Time  string `json:"time"`
			Level string `json:"level"`
			Msg   string `json:"msg"`
		}
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil || rec.Time == "" || rec.Level == "" || rec.Msg == "" {
			t.Fatalf("log line %q is not a JSON record: %v", sc.Text(), err)
		}
		lines++
	}
	if lines < 2 || !strings.Contains(h.stderr.String(), `"msg":"hub ready"`) {
		t.Fatalf("%d JSON log lines:\n%s", lines, h.stderr)
	}
}

// hub token rotate: the new token works at once, the old one is refused at
// once, the token file is replaced (mode 0600), a restart keeps the new
// token, and the rotation is audited without the tokens.
func TestTokenRotate(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	h := serve(t, data)
	tokenFile := filepath.Join(data, "admin.token")
	old := strings.TrimSpace(string(hubtest.ReadFile(t, tokenFile)))
	url := []string{"--hub-url", h.httpURL}

	out, errOut, code := run(t, nil, append([]string{"token", "rotate", "--data", data}, url...)...)
	if code != 0 || !strings.Contains(out, "written to "+tokenFile) {
		t.Fatalf("rotate: exit %d\n%s%s", code, out, errOut)
	}
	fresh := strings.TrimSpace(string(hubtest.ReadFile(t, tokenFile)))
	if fi, err := os.Stat(tokenFile); fresh == old || len(fresh) != 64 || err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file after the rotation: %q (mode %v, %v)", fresh, fi.Mode(), err)
	}
	if _, errOut, code := run(t, []string{"HUB_TOKEN=" + old}, append([]string{"datasets"}, url...)...); code == 0 || !strings.Contains(errOut, "401") {
		t.Fatalf("the old token still works: exit %d %s", code, errOut)
	}
	if _, errOut, code := run(t, nil, append([]string{"datasets", "--data", data}, url...)...); code != 0 {
		t.Fatalf("the new token does not work: exit %d %s", code, errOut)
	}

	// With HUB_TOKEN and no --out the new token is printed, and only it.
	out, errOut, code = run(t, []string{"HUB_TOKEN=" + fresh}, append([]string{"token", "rotate", "--data", t.TempDir()}, url...)...)
	third := strings.TrimSpace(out)
	if code != 0 || len(third) != 64 || third == fresh || !strings.Contains(errOut, "HUB_TOKEN") {
		t.Fatalf("rotate with HUB_TOKEN: exit %d, out %q, err %q", code, out, errOut)
	}
	if got := strings.TrimSpace(string(hubtest.ReadFile(t, tokenFile))); got != third {
		t.Fatal("the hub did not write the new token to its own file")
	}
	h.stop(t)
	h = serve(t, data)
	url = []string{"--hub-url", h.httpURL}
	if _, errOut, code := run(t, []string{"HUB_TOKEN=" + third}, append([]string{"datasets"}, url...)...); code != 0 {
		t.Fatalf("the rotated token does not survive a restart: exit %d %s", code, errOut)
	}
	out, _, _ = run(t, []string{"HUB_TOKEN=" + third}, append([]string{"audit", "tail", "-n", "0"}, url...)...)
	if n := strings.Count(out, `"kind":"token.rotate"`); n != 2 || strings.Contains(out, old) || strings.Contains(out, fresh) || strings.Contains(out, third) {
		t.Fatalf("audit log: %d token.rotate entries (want 2, without the tokens):\n%s", n, out)
	}
	h.stop(t)
}
