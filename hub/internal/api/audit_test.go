package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/jobtech-dev/datahub/hub/internal/audit"
	"github.com/jobtech-dev/datahub/hub/internal/hubtest"
)

func TestAuditRoutes(t *testing.T) {
	t.Parallel()
	n := hubtest.StartNew(t)
	c := newClient(t, n)

	// The start applied the datasets and the policies: those entries are
	// anchored at once.
	resp, body := c.do(http.MethodGet, "/api/v1/audit/anchor", "", nil)
	var an audit.Anchor
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &an) != nil || an.Seq != 2 || an.Sig == "" {
		t.Fatalf("anchor: %d %s", resp.StatusCode, body)
	}
	resp, body = c.do(http.MethodGet, "/api/v1/audit/verify", "", nil)
	var rep audit.Report
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &rep) != nil || !rep.OK || rep.Anchor == nil || rep.Anchor.Status != audit.AnchorMatches {
		t.Fatalf("verify: %d %s", resp.StatusCode, body)
	}
	// An anchor given in the body is the one compared; a changed one is
	// not this hub's.
	an.Head = strings.Repeat("0", 64)
	b, _ := json.Marshal(map[string]any{"anchor": an})
	resp, body = c.do(http.MethodPost, "/api/v1/audit/verify", "application/json", b)
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &rep) != nil || rep.OK || rep.Problems[0].Code != audit.ProblemAnchor {
		t.Fatalf("verify against a changed anchor: %d %s", resp.StatusCode, body)
	}

	if p := c.problem(http.MethodPost, "/api/v1/audit/seal", "application/json", []byte(`{"reason":""}`), http.StatusBadRequest); !strings.Contains(p.Detail, "reason") {
		t.Fatalf("seal without reason: %+v", p)
	}
	if p := c.problem(http.MethodPost, "/api/v1/audit/seal", "application/json", []byte(`{"reason":"why not"}`), http.StatusConflict); !strings.Contains(p.Detail, "verifies intact") {
		t.Fatalf("seal of an intact log: %+v", p)
	}
	c.problem(http.MethodPost, "/api/v1/audit/seal", "application/json", []byte(`{"reason":"x","extra":1}`), http.StatusBadRequest)
}
