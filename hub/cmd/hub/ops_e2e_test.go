package main_test

import (
	"bufio"
	"encoding/json"
	"strings"
	"testing"
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
