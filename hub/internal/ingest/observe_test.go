package ingest_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/jobtech-dev/datahub/internal/publish"
)

// Each record of a batch request is told to the Observer (the hub's
// metrics) with its own outcome, as if it came alone.
func TestBatchRecordsObservedEach(t *testing.T) {
	t.Parallel()
	n, p, _ := setup(t)
	recs := []publish.Record{
		{ID: "o-1", Data: example(t, "jobads", "valid", "small-ad.json")},
		{ID: "o-2", Data: example(t, "jobads", "invalid", "headline-not-string.json")},
		{ID: "o-1", Data: example(t, "jobads", "valid", "small-ad.json")},
	}
	f, err := p.SendBatch(ctx(t), "jobads", recs)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Results(ctx(t)); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	n.Metrics().Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	body := rec.Body.String()
	for _, want := range []string{
		`hub_records_total{dataset="jobads",outcome="stored",reason=""} 1`,
		`hub_records_total{dataset="jobads",outcome="rejected",reason="type"} 1`,
		`hub_records_total{dataset="jobads",outcome="duplicate",reason=""} 1`,
		`hub_ingest_duration_seconds_count{dataset="jobads"} 3`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s; they say:\n%s", want, grepLines(body, "dataset=\"jobads\""))
		}
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) && !strings.Contains(l, "_bucket") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
