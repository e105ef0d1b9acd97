package metrics_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nkeys"

	"github.com/jobtech-dev/datahub/connector-kit/kit"
	"github.com/jobtech-dev/datahub/hub/internal/hubtest"
	"github.com/jobtech-dev/datahub/hub/internal/node"
)

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// get fetches url with the admin token when tok is given.
func get(t *testing.T, url, tok string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func post(t *testing.T, n *node.Node, path, body string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, n.HTTPURL()+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+n.Token())
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// busyHub starts a hub with a metrics listener and makes every figure the
// dashboard shows exist: records stored and rejected, a subscriber with a
// consumer, an actor connection and a refused publish.
func busyHub(t *testing.T) *node.Node {
	t.Helper()
	cfg := hubtest.Config(t.TempDir())
	cfg.MetricsListen = "127.0.0.1:0"
	n := hubtest.Start(t, cfg)
	ad := hubtest.ReadFile(t, filepath.Join(hubtest.RepoRoot(), "schemas", "jobads", "examples", "valid", "small-ad.json"))
	if code := post(t, n, "/api/v1/datasets/jobads/records", string(ad)); code != http.StatusCreated {
		t.Fatalf("publish: %d", code)
	}
	if code := post(t, n, "/api/v1/datasets/jobads/records", `{"id":"x","headline":7}`); code != http.StatusUnprocessableEntity {
		t.Fatalf("publish invalid: %d", code)
	}
	kp, _ := nkeys.CreateUser()
	pub, _ := kp.PublicKey()
	if _, err := n.Access().CreateActor(ctxT(t), "matchwise", pub, "admin"); err != nil {
		t.Fatal(err)
	}
	c, err := kit.DialKey(ctxT(t), n.NATSURL(), "matchwise", pub, kp.Sign, kit.WithLogger(hubtest.Logger(t)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := c.Subscribe(ctxT(t), "jobads", func(context.Context, kit.Delivery) error { return nil }, kit.Durable("m")); err != nil {
		t.Fatal(err)
	}
	// matchwise may not publish job ads: the server refuses it.
	_ = c.Conn().Publish("ingest.jobads.matchwise", ad)
	_ = c.Conn().Flush()
	return n
}

func TestMetricsServedOnTheAdminSideOnly(t *testing.T) {
	t.Parallel()
	n := busyHub(t)
	if code, _ := get(t, n.HTTPURL()+"/api/v1/metrics", ""); code != http.StatusUnauthorized {
		t.Errorf("metrics without the admin token: %d, want 401", code)
	}
	if code, _ := get(t, n.HTTPURL()+"/metrics", ""); code != http.StatusNotFound {
		t.Errorf("/metrics on the public address: %d, want 404", code)
	}
	want := []string{
		`hub_records_total{dataset="jobads",outcome="stored",reason=""} 1`,
		`hub_records_total{dataset="jobads",outcome="rejected",reason="required"} 1`,
		`hub_ingest_duration_seconds_count{dataset="jobads"} 2`,
		`hub_dataset_records{dataset="jobads"} 1`,
		`hub_subscription_pending_records{actor="matchwise",consumer="matchwise_m",dataset="jobads"}`,
		`hub_actor_connections{actor="matchwise"} 1`,
		`hub_policy_decisions_total{decision="allow"}`,
		`hub_permission_refusals_total{actor="matchwise"} 1`,
		`hub_policies{layer="files"}`,
		`hub_audit_entries `,
		`hub_nats_connections `,
		`hub_nats_slow_consumers_total 0`,
		`hub_jetstream_storage_bytes `,
	}
	var body string
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, b := get(t, n.HTTPURL()+"/api/v1/metrics", n.Token())
		if code != http.StatusOK {
			t.Fatalf("metrics: %d %s", code, b)
		}
		body = b
		missing := ""
		for _, w := range want {
			if !strings.Contains(body, w) {
				missing = w
				break
			}
		}
		if missing == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("metrics lack %q:\n%s", missing, grepHub(body))
		}
		time.Sleep(50 * time.Millisecond)
	}
	code, alone := get(t, n.MetricsURL()+"/metrics", "")
	if code != http.StatusOK || !strings.Contains(alone, "hub_dataset_records{dataset=\"jobads\"} 1") {
		t.Errorf("--metrics-listen /metrics: %d\n%s", code, grepHub(alone))
	}
}

func grepHub(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, "hub_") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestDashboardQueriesExistingMetrics holds deploy/grafana's dashboard to
// the hub: it parses, and every metric it queries is in /metrics.
func TestDashboardQueriesExistingMetrics(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join(hubtest.RepoRoot(), "deploy", "grafana", "jobtech-hub.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Title  string `json:"title"`
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&dash); err != nil {
		t.Fatalf("dashboard does not parse: %v", err)
	}
	if len(dash.Panels) == 0 {
		t.Fatal("dashboard has no panels")
	}
	n := busyHub(t)
	names := regexp.MustCompile(`\bhub_[a-z_]+\b`)
	var exprs []string
	for _, p := range dash.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q queries nothing", p.Title)
		}
		for _, tg := range p.Targets {
			exprs = append(exprs, tg.Expr)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, body := get(t, n.HTTPURL()+"/api/v1/metrics", n.Token())
		var missing []string
		for _, e := range exprs {
			for _, name := range names.FindAllString(e, -1) {
				if !regexp.MustCompile(`(?m)^` + name + `[{ ]`).MatchString(body) {
					missing = append(missing, name+" (in "+e+")")
				}
			}
		}
		if len(missing) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the dashboard queries metrics the hub does not serve:\n  %s", strings.Join(missing, "\n  "))
		}
		time.Sleep(50 * time.Millisecond)
	}
}
