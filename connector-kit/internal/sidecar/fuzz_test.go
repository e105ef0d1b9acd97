package sidecar_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jobtech-dev/datahub/connector-kit/kittest"
	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/internal/problem"
)

// FuzzPostRecords posts fuzzed bodies to a real sidecar (in-process, on
// loopback) in front of a real hub process, as one record
// (application/json) or as an NDJSON batch, with or without id_from. The
// sidecar must answer every body (a panic closes the connection); a
// refusal must be a problem document that says what is wrong (and, for a
// batch, which line); and every record it accepts (stored, duplicate or
// queued) must be on the hub under its record id with the posted bytes.
func FuzzPostRecords(f *testing.F) {
	h := kittest.Start(f, "")
	s := startSidecar(f, h, "arbetsformedlingen", nil)
	ads := realAds(f)
	f.Add(ads[0], false, true)
	f.Add(bytes.Join(ads, []byte("\n")), true, true)
	f.Add(bytes.Join([][]byte{ads[1], []byte(`{"id": "x", "headline": 5}`), []byte("not json"), nil, ads[2]}, []byte("\r\n")), true, false)
	f.Add([]byte(`{"id":"1","id":"2"}`), false, false)
	f.Add([]byte("{\"id\":\"\xed\xa0\x80\"}"), false, true)
	f.Add([]byte(`[1,2]`), true, true)
	f.Add([]byte("\n\n\n"), true, false)
	f.Add([]byte(""), false, false)
	client := &http.Client{Timeout: time.Minute}
	hubClient, token := h.HTTPClient(), h.Token() // h's methods are f's: not inside the fuzz target
	f.Fuzz(func(t *testing.T, body []byte, batch, idFrom bool) {
		url := s.URL() + "/v1/datasets/jobads/records"
		if idFrom {
			url += "?id_from=id"
		}
		ctype := "application/json"
		if batch {
			ctype = "application/x-ndjson"
		}
		resp, err := client.Post(url, ctype, bytes.NewReader(body))
		if err != nil {
			t.Fatalf("POST %q (batch %v): %v", body, batch, err)
		}
		answer, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("POST %q: read answer: %v", body, err)
		}
		var results []problem.LineResult
		switch {
		case resp.StatusCode >= 400:
			var p problem.Problem
			if err := json.Unmarshal(answer, &p); err != nil || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/problem+json") ||
				p.Code == "" || p.Detail == "" && len(p.Violations) == 0 && p.Batch == nil {
				t.Fatalf("POST %q: %d %s %q: not a problem that says what is wrong", body, resp.StatusCode, resp.Header.Get("Content-Type"), answer)
			}
			if p.Batch != nil {
				results = p.Results
			}
		case batch:
			var b problem.Batch
			if err := json.Unmarshal(answer, &b); err != nil {
				t.Fatalf("POST %q: %d %q: not a batch answer: %v", body, resp.StatusCode, answer, err)
			}
			results = b.Results
		default:
			var r problem.LineResult
			if err := json.Unmarshal(answer, &r); err != nil {
				t.Fatalf("POST %q: %d %q: not a result: %v", body, resp.StatusCode, answer, err)
			}
			results = []problem.LineResult{r}
		}
		lines := bytes.Split(body, []byte("\n"))
		accepted := map[string][]byte{}
		for _, r := range results {
			switch {
			case r.Status == wire.StatusStored || r.Status == wire.StatusDuplicate || r.Status == wire.StatusQueued:
				rec := bytes.TrimSpace(body)
				if batch {
					if r.Line < 1 || r.Line > len(lines) {
						t.Fatalf("POST %q: result for line %d of %d", body, r.Line, len(lines))
					}
					rec = bytes.TrimSpace(lines[r.Line-1])
				}
				if r.ID == "" {
					t.Fatalf("POST %q: accepted record without an id: %+v", body, r)
				}
				accepted[r.ID] = rec
			case r.Error == "" && len(r.Violations) == 0:
				t.Fatalf("POST %q: refused line %d says nothing: %+v", body, r.Line, r)
			}
		}
		if len(accepted) > 0 {
			onHub(t, hubClient, h.HTTPURL()+"/api/v1/datasets/jobads/records", token, accepted)
		}
	})
}

// onHub waits until every record id of want is among the records the hub's
// API lists at url, with the posted content, or fails.
func onHub(t *testing.T, c *http.Client, url, token string, want map[string][]byte) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		all, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		missing := ""
		stored := map[string]json.RawMessage{}
		for _, l := range bytes.Split(all, []byte("\n")) {
			var e kittest.Envelope
			if json.Unmarshal(l, &e) == nil {
				stored[e.RecordID] = e.Data
			}
		}
		for id, rec := range want {
			data, ok := stored[id]
			if !ok {
				missing = id
				break
			}
			if !sameJSON(rec, data) {
				t.Fatalf("record %s stored as %.200q, posted %.200q", id, data, rec)
			}
		}
		if missing == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("record %s (%.200q) accepted but not on the hub after 30 s", missing, want[missing])
		}
		time.Sleep(50 * time.Millisecond) // polled: the record is forwarded from the outbox
	}
}

// sameJSON reports whether a and b are the same JSON value (numbers as
// written).
func sameJSON(a, b []byte) bool {
	var x, y any
	da, db := json.NewDecoder(bytes.NewReader(a)), json.NewDecoder(bytes.NewReader(b))
	da.UseNumber()
	db.UseNumber()
	return da.Decode(&x) == nil && db.Decode(&y) == nil && reflect.DeepEqual(x, y)
}
