package sidecar_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jobtech-dev/datahub/connector-kit/internal/sidecar"
	"github.com/jobtech-dev/datahub/connector-kit/kittest"
	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/internal/problem"
)

// postPrefer posts body with a Prefer header and a client that gives up
// long before the sidecar's ack_timeout would answer.
func postPrefer(t *testing.T, url, ctype, prefer string, body []byte) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("Prefer", prefer)
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("POST with Prefer: %s: %v (it waited for the hub)", prefer, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// Prefer: respond-async (RFC 7240) answers "queued" as soon as the records
// are fsynced in the outbox, without waiting for the hub, even with a long
// ack_timeout and the hub away; the records still reach the hub, each once.
func TestRespondAsyncAnswersOnceDurable(t *testing.T) {
	t.Parallel()
	h := kittest.Start(t, "")
	sc := startSidecar(t, h, "jobbland", func(c *sidecar.Config) { c.AckTimeout = time.Minute })
	url := sc.URL() + "/v1/datasets/jobads/records"
	ad := example(t, "valid", "small-ad.json")
	// With the hub there: queued, or stored when the hub was quicker than
	// the answer.
	if resp, body := postPrefer(t, url, "application/json", "respond-async", ad); resp.StatusCode != http.StatusAccepted && resp.StatusCode != http.StatusCreated {
		t.Fatalf("hub up: %d %s", resp.StatusCode, body)
	}
	// A bad record is still refused at once: the local check comes first.
	resp, body := postPrefer(t, url, "application/json", "respond-async", []byte(`{"id":"x"}`))
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(string(body), "schema") {
		t.Fatalf("invalid record: %d %s", resp.StatusCode, body)
	}

	h.Kill()

	resp, body = postPrefer(t, url, "application/json", "respond-async", ad)
	var one problem.LineResult
	if err := json.Unmarshal(body, &one); err != nil || resp.StatusCode != http.StatusAccepted || one.Status != wire.StatusQueued || one.ID == "" {
		t.Fatalf("single record: %d %s", resp.StatusCode, body)
	}
	if got := resp.Header.Get("Preference-Applied"); got != "respond-async" {
		t.Fatalf("Preference-Applied %q", got)
	}
	// Other preferences in the same header, any case.
	resp, body = postPrefer(t, url, "application/x-ndjson", "return=minimal, Respond-Async; wait=5", bytes.Join([][]byte{ad, ad, ad}, []byte("\n")))
	if resp.StatusCode != http.StatusAccepted || batchCounts(t, body)[wire.StatusQueued] != 3 {
		t.Fatalf("batch: %d %s", resp.StatusCode, body)
	}
	h.Restart()
	waitDrained(t, sc.URL(), 30*time.Second)
	ids := countByID(h, "jobads")
	if len(ids) != 5 || ids[one.ID] != 1 {
		t.Fatalf("on the hub: %v, want 5 records, %s once", ids, one.ID)
	}
}

// ack_timeout 0 answers every POST once durable; a negative one is refused.
func TestAckTimeoutZeroAndNegative(t *testing.T) {
	t.Parallel()
	cfg := sidecar.DefaultConfig()
	cfg.Hub.Credentials = "x.nk"
	cfg.AckTimeout = -time.Second
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "ack_timeout") {
		t.Fatalf("negative ack_timeout: %v", err)
	}
	h := kittest.Start(t, "")
	sc := startSidecar(t, h, "jobbland", func(c *sidecar.Config) { c.AckTimeout = 0 })
	h.Kill()
	code, body := post(t, sc.URL()+"/v1/datasets/jobads/records", "application/json", example(t, "valid", "small-ad.json"))
	if code != http.StatusAccepted {
		t.Fatalf("ack_timeout 0 with the hub away: %d %s", code, body)
	}
}
