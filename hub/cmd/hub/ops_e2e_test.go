package main_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
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
	out, _, _ = run(t, []string{"HUB_TOKEN=" + third}, append([]string{"audit", "tail", "-n", "0", "-o", "json"}, url...)...)
	if n := strings.Count(out, `"kind":"token.rotate"`); n != 2 || strings.Contains(out, old) || strings.Contains(out, fresh) || strings.Contains(out, third) {
		t.Fatalf("audit log: %d token.rotate entries (want 2, without the tokens):\n%s", n, out)
	}
	h.stop(t)
}

// acked is a record the hub acknowledged (201 stored), with when the answer
// arrived.
type acked struct {
	id  string
	seq uint64
	at  time.Time
}

// publishUntil posts job ads one by one to the hub's API until stop closes,
// and returns every acknowledged record.
func publishUntil(t *testing.T, url, token string, stop <-chan struct{}) <-chan []acked {
	t.Helper()
	ad := bytes.TrimSpace(hubtest.ReadFile(t, filepath.Join(hubtest.SchemasDir(), "jobads", "examples", "valid", "small-ad.json")))
	done := make(chan []acked, 1)
	go func() {
		var got []acked
		defer func() { done <- got }()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			body := bytes.Replace(ad, []byte(`"id":"23187561"`), fmt.Appendf(nil, `"id":"r%d"`, i), 1)
			req, _ := http.NewRequest(http.MethodPost, url+"/api/v1/datasets/jobads/records", bytes.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Errorf("publish %d: %v", i, err)
				return
			}
			var reply wire.Reply
			err = json.NewDecoder(resp.Body).Decode(&reply)
			resp.Body.Close()
			if resp.StatusCode != http.StatusCreated || err != nil || reply.Status != wire.StatusStored {
				t.Errorf("publish %d: %s %+v %v", i, resp.Status, reply, err)
				return
			}
			got = append(got, acked{id: reply.ID, seq: reply.Seq, at: time.Now()})
		}
	}()
	return done
}

// An online backup taken while records are being published holds every
// record acknowledged before it began; restored into a fresh data dir, a
// hub serves them, the actors and the policies are back, the audit chain
// verifies, and nothing is reported lost.
func TestBackupWhileWritingAndRestore(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	h := serve(t, data)
	common := []string{"--hub-url", h.httpURL, "--data", data}
	keys := t.TempDir()
	for _, a := range []string{"jobbland", "matchwise"} {
		if out, errOut, code := run(t, nil, append([]string{"actor", "create", a, "--out", filepath.Join(keys, a+".nk")}, common...)...); code != 0 {
			t.Fatalf("actor create %s: exit %d\n%s%s", a, code, out, errOut)
		}
	}
	policies, _, _ := run(t, nil, append([]string{"policy", "explain", "jobbland"}, common...)...)
	token := strings.TrimSpace(string(hubtest.ReadFile(t, filepath.Join(data, "admin.token"))))

	stop := make(chan struct{})
	published := publishUntil(t, h.httpURL, token, stop)
	time.Sleep(300 * time.Millisecond) // some records before the backup
	began := time.Now()
	backupDir := filepath.Join(t.TempDir(), "backup")
	out, errOut, code := run(t, nil, append([]string{"backup", "--out", backupDir}, common...)...)
	if code != 0 {
		close(stop)
		t.Fatalf("backup: exit %d\n%s%s", code, out, errOut)
	}
	time.Sleep(200 * time.Millisecond) // and some after it
	close(stop)
	all := <-published
	var before []acked
	for _, a := range all {
		if a.at.Before(began) {
			before = append(before, a)
		}
	}
	if len(before) < 10 || len(all) == len(before) {
		t.Fatalf("%d records acknowledged before the backup, %d in all: the backup did not run while writing", len(before), len(all))
	}
	if !strings.Contains(out, "DS_jobads") || !strings.Contains(out, "KV_hub_actors") || !strings.Contains(out, "AUDIT") {
		t.Fatalf("backup output:\n%s", out)
	}
	if fi, err := os.Stat(filepath.Join(backupDir, "manifest.json")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("manifest: %v %v", fi, err)
	}
	h.stop(t)

	restored := filepath.Join(t.TempDir(), "restored")
	if out, errOut, code := run(t, nil, "restore", "--from", backupDir, "--data", restored); code != 0 || !strings.Contains(out, "restored into") {
		t.Fatalf("restore: exit %d\n%s%s", code, out, errOut)
	}
	if _, errOut, code := run(t, nil, "restore", "--from", backupDir, "--data", restored); code == 0 || !strings.Contains(errOut, "not empty") {
		t.Fatalf("restore over a data dir: exit %d %s", code, errOut)
	}
	h = serve(t, restored, "--policies", "")
	common = []string{"--hub-url", h.httpURL, "--data", restored}
	out, errOut, code = run(t, nil, append([]string{"read", "--dataset", "jobads"}, common...)...)
	if code != 0 {
		t.Fatalf("read the restored hub: exit %d %s", code, errOut)
	}
	bySeq := map[uint64]string{}
	for _, e := range envelopes(t, out) {
		bySeq[e.Seq] = e.RecordID
	}
	for _, a := range before {
		if bySeq[a.seq] != a.id {
			t.Fatalf("record %s (seq %d), acknowledged %s before the backup began, not restored", a.id, a.seq, began.Sub(a.at))
		}
	}
	if len(bySeq) > len(all) {
		t.Fatalf("restored %d records, only %d were published", len(bySeq), len(all))
	}
	out, _, _ = run(t, nil, append([]string{"actor", "list"}, common...)...)
	if !strings.Contains(out, "jobbland") || !strings.Contains(out, "matchwise") {
		t.Fatalf("actors after the restore:\n%s", out)
	}
	if got, _, _ := run(t, nil, append([]string{"policy", "explain", "jobbland"}, common...)...); got != policies || got == "" {
		t.Fatalf("policies after the restore:\n%s\nwant\n%s", got, policies)
	}
	out, errOut, code = run(t, nil, append([]string{"audit", "verify"}, common...)...)
	if code != 0 || !strings.Contains(out, "intact") {
		t.Fatalf("audit verify after the restore: exit %d\n%s%s", code, out, errOut)
	}
	if out, _, _ := run(t, nil, append([]string{"audit", "tail", "-n", "0", "-o", "json"}, common...)...); !strings.Contains(out, `"kind":"backup.create"`) {
		t.Fatalf("the backup is not in the audit log:\n%s", out)
	}
	if out, _, code := run(t, nil, append([]string{"damage", "list"}, common...)...); code != 0 || !strings.Contains(out, "no data loss") {
		t.Fatalf("damage after the restore: exit %d\n%s", code, out)
	}
	t.Logf("%d records acknowledged before the backup began, %d in all, %d restored", len(before), len(all), len(bySeq))
	h.stop(t)
}

// A record damaged on disk: hub read and hub read --snapshot print every
// other record and exit 1 naming it; hub damage list shows it and hub
// damage ack clears it.
func TestDamageCLI(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	h := serve(t, data)
	ad := bytes.TrimSpace(hubtest.ReadFile(t, filepath.Join(hubtest.SchemasDir(), "jobads", "examples", "valid", "small-ad.json")))
	var in bytes.Buffer
	for i := range 50 {
		in.Write(bytes.Replace(ad, []byte(`"id":"23187561"`), fmt.Appendf(nil, `"id":"k%d"`, i), 1))
		in.WriteByte('\n')
	}
	file := filepath.Join(t.TempDir(), "ads.ndjson")
	if err := os.WriteFile(file, in.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	common := []string{"--hub-url", h.httpURL, "--data", data}
	if out, errOut, code := run(t, nil, append([]string{"publish", "--dataset", "jobads", file}, common...)...); code != 0 {
		t.Fatalf("publish: exit %d\n%s%s", code, out, errOut)
	}
	h.stop(t)
	blk := filepath.Join(data, "jetstream", "jetstream", "$G", "streams", "DS_jobads", "msgs", "1.blk")
	b := hubtest.ReadFile(t, blk)
	i := bytes.Index(b, []byte("data.jobads.k20")) // sequence 21
	b[i+80] ^= 0x55
	if err := os.WriteFile(blk, b, 0o600); err != nil {
		t.Fatal(err)
	}
	h = serve(t, data)
	common = []string{"--hub-url", h.httpURL, "--data", data}
	for _, args := range [][]string{{"read", "--dataset", "jobads"}, {"read", "--dataset", "jobads", "--snapshot"}} {
		out, errOut, code := run(t, nil, append(args, common...)...)
		if n := len(envelopes(t, out)); code != 1 || n != 49 || !strings.Contains(errOut, "sequence 21 ") || !strings.Contains(errOut, "hub damage list") {
			t.Fatalf("%v: exit %d, %d records\n%s", args, code, n, errOut)
		}
	}
	out, _, code := run(t, nil, append([]string{"damage", "list"}, common...)...)
	if code != 0 || !strings.Contains(out, "jobads") || !strings.Contains(out, "unreadable") || !strings.Contains(out, "hub damage ack") {
		t.Fatalf("damage list: exit %d\n%s", code, out)
	}
	out, _, _ = run(t, nil, append([]string{"damage", "list", "-o", "json"}, common...)...)
	if !strings.Contains(out, `"status": "degraded"`) || !strings.Contains(out, `"from": 21`) {
		t.Fatalf("damage list -o json:\n%s", out)
	}
	if _, errOut, code := run(t, nil, append([]string{"damage", "ack", "jobads"}, common...)...); code == 0 || !strings.Contains(errOut, "reason") {
		t.Fatalf("ack without --reason: exit %d %s", code, errOut)
	}
	out, errOut, code := run(t, nil, append([]string{"damage", "ack", "jobads", "--reason", "accepted as lost"}, common...)...)
	if code != 0 || !strings.Contains(out, "hub status: ok") {
		t.Fatalf("damage ack: exit %d\n%s%s", code, out, errOut)
	}
	resp, err := http.Get(h.httpURL + "/readyz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("/readyz after the ack: %v %v", resp, err)
	}
	resp.Body.Close()
	h.stop(t)
}
