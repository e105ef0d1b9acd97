package sidecar_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/jobtech-dev/datahub/connector-kit/kittest"
	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/internal/problem"
)

// TestJobStreamKeepsEachPublishersAds: a job board's tombstone for
// Arbetsförmedlingen's ad id removes nothing of Arbetsförmedlingen's in the
// JobStream /snapshot and /stream; the board's own ads carry its prefix.
func TestJobStreamKeepsEachPublishersAds(t *testing.T) {
	t.Parallel()
	h := kittest.Start(t, "")
	pes := startSidecar(t, h, "arbetsformedlingen", nil)
	board := startSidecar(t, h, "jobbland", nil)
	match := startSidecar(t, h, "matchwise", nil)
	for _, ad := range realAds(t) {
		if code, body := post(t, pes.URL()+"/v1/datasets/jobads/records", "application/json", ad); code != http.StatusCreated {
			t.Fatalf("af: %d %s", code, body)
		}
	}
	own := bytes.Replace(example(t, "valid", "small-ad.json"), []byte(`"23187561"`), []byte(`"22884504"`), 1)
	for _, rec := range [][]byte{example(t, "valid", "tombstone-22884504.json"), own} {
		if code, body := post(t, board.URL()+"/v1/datasets/jobads/records", "application/json", rec); code != http.StatusCreated {
			t.Fatalf("jobbland: %d %s", code, body)
		}
	}
	code, body := get(t, match.URL()+"/snapshot")
	var ads []map[string]any
	if err := json.Unmarshal(body, &ads); code != http.StatusOK || err != nil {
		t.Fatalf("/snapshot: %d %v", code, err)
	}
	ids := map[string]string{}
	for _, ad := range ads {
		id, _ := ad["id"].(string)
		h, _ := ad["headline"].(string)
		ids[id] = h
	}
	if len(ids) != 4 || ids["jobbland:22884504"] != "Java-utvecklare" || ids["22884504"] == "" || ids["22884504"] == "Java-utvecklare" {
		t.Fatalf("/snapshot ids %v: want Arbetsförmedlingen's three ads and jobbland:22884504", ids)
	}
	code, body = get(t, match.URL()+"/stream?date=2000-01-01T00:00:00")
	if err := json.Unmarshal(body, &ads); code != http.StatusOK || err != nil || len(ads) != 4 { // one entry per ad: jobbland:22884504 removed, then published again
		t.Fatalf("/stream: %d %v, %d ads", code, err, len(ads))
	}
	for _, ad := range ads {
		if ad["removed"] == true && ad["id"] != "jobbland:22884504" {
			t.Fatalf("/stream has removal %v: only jobbland's own ad may be removed", ad)
		}
	}
}

// TestPostConflict: the same record id with other content is 409 problem+json.
func TestPostConflict(t *testing.T) {
	t.Parallel()
	h := kittest.Start(t, "")
	pes := startSidecar(t, h, "arbetsformedlingen", nil)
	url := pes.URL() + "/v1/datasets/jobads/records"
	ad := realAds(t)[0]
	send := func(data []byte) (int, []byte) {
		req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(data))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(wire.RequestRecordID, "af-7")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		_, _ = b.ReadFrom(resp.Body)
		if resp.StatusCode >= 400 && resp.Header.Get("Content-Type") != "application/problem+json" {
			t.Fatalf("%d answered as %s", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		return resp.StatusCode, b.Bytes()
	}
	if code, body := send(ad); code != http.StatusCreated || !bytes.Contains(body, []byte(`"stored"`)) {
		t.Fatalf("first: %d %s", code, body)
	}
	if code, body := send(ad); code != http.StatusOK || !bytes.Contains(body, []byte(`"duplicate"`)) {
		t.Fatalf("retry: %d %s", code, body)
	}
	code, body := send(bytes.Replace(ad, []byte(`"Trafikledare`), []byte(`"Ändrad trafikledare`), 1))
	var p problem.Problem
	if err := json.Unmarshal(body, &p); code != http.StatusConflict || err != nil || p.Code != wire.CodeConflict {
		t.Fatalf("other content: %d %s, want 409 conflict", code, body)
	}
	if n := len(h.Records("jobads")); n != 1 {
		t.Fatalf("%d records stored, want 1", n)
	}

}
