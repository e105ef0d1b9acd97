package web_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/nats-io/nkeys"

	"github.com/jobtech-dev/datahub/connector-kit/kit"
	"github.com/jobtech-dev/datahub/hub/internal/hubtest"
	"github.com/jobtech-dev/datahub/hub/internal/node"
	"github.com/jobtech-dev/datahub/hub/internal/web"
)

// chromium finds Debian's chromium (installed by .ci/run). Without it the
// browser tests fail: a missing browser must not pass for a green run. A
// developer without a browser opts out with HUB_NO_BROWSER=1, which skips
// them with a message; CI (CI=true) does not honour it.
func chromium(t *testing.T) string {
	t.Helper()
	noBrowser := os.Getenv("HUB_NO_BROWSER") == "1"
	if noBrowser && os.Getenv("CI") == "" {
		t.Skip("HUB_NO_BROWSER=1: the browser tests are skipped (unset it and install Debian's chromium to run them)")
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatalf("no chromium binary on PATH (CI=%q, HUB_NO_BROWSER=%q): install Debian's chromium package "+
		"(apt-get install -y chromium; .ci/run does), or set HUB_NO_BROWSER=1 outside CI to skip the browser tests",
		os.Getenv("CI"), os.Getenv("HUB_NO_BROWSER"))
	return ""
}

// browser starts a headless Chromium with a fresh profile.
func browser(t *testing.T) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium(t)),
		chromedp.Flag("headless", true), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-default-browser-check", true), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 1000),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelB := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(bctx, 3*time.Minute)
	t.Cleanup(func() { cancelT(); cancelB(); cancelA() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// run runs browser steps, each group bounded so a broken page fails the
// test in seconds instead of waiting out the whole test's time.
func run(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// nav loads a page and fails unless it answers 200 OK: an error page is a
// broken page even when it renders.
func nav(url string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		resp, err := chromedp.NavigateResponse(url)(ctx, tg)
		if err != nil {
			return err
		}
		if resp == nil || resp.Status != http.StatusOK {
			status := int64(0)
			if resp != nil {
				status = resp.Status
			}
			return fmt.Errorf("GET %s: status %d, want 200", url, status)
		}
		return nil
	})
}

// eval runs a script in the page and returns its result.
func eval[T any](t *testing.T, ctx context.Context, what, js string, opts ...chromedp.EvaluateOption) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, opts...))
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// submit clicks a form's button and waits for the page that answers it to
// show its flash message. The current document is marked first, so a flash
// left on it by an earlier form cannot pass for the answer.
func submit(t *testing.T, ctx context.Context, what, button string) {
	t.Helper()
	submitThen(t, ctx, what, button, ".flash")
}

// submitThen clicks a form's button and waits for wait on the next page.
func submitThen(t *testing.T, ctx context.Context, what, button, wait string) {
	t.Helper()
	run(t, ctx, what,
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := chromedp.Evaluate[string](`document.documentElement.dataset.stale = "1"`)(ctx, tg)
			return err
		}),
		chromedp.Click(chromedp.CSS(button)),
		chromedp.WaitVisible(chromedp.CSS(`html:not([data-stale]) `+wait)))
}

// text is the text of the first element matching a CSS selector.
func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return v
}

// shots is where screenshots go: docs/screenshots with HUB_SCREENSHOTS=1
// (make screenshots), else a temp dir.
func shots(t *testing.T) string {
	if os.Getenv("HUB_SCREENSHOTS") != "" {
		return filepath.Join(hubtest.RepoRoot(), "docs", "screenshots")
	}
	return t.TempDir()
}

func shot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	b, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// a11y runs the in-page accessibility checks on the current page: a lang
// attribute, main/banner/navigation landmarks, one h1, a label for every
// form control, alt text on images, a name for every button and link.
const a11yJS = `(() => {
  const bad = [];
  if (!document.documentElement.lang) bad.push("html has no lang");
  for (const sel of ["main", "header[role=banner], header", "nav"]) if (!document.querySelector(sel)) bad.push("no landmark " + sel);
  if (document.querySelectorAll("h1").length !== 1) bad.push("h1 count " + document.querySelectorAll("h1").length);
  for (const el of document.querySelectorAll("input:not([type=hidden]), select, textarea")) {
    const ok = (el.id && document.querySelector('label[for="' + el.id + '"]')) || el.getAttribute("aria-label") || el.closest("label");
    if (!ok) bad.push("unlabelled " + el.tagName + " " + (el.name || ""));
  }
  for (const img of document.querySelectorAll("img")) if (!img.hasAttribute("alt")) bad.push("img without alt");
  for (const el of document.querySelectorAll("button, a[href]")) if (!(el.innerText || "").trim() && !el.getAttribute("aria-label")) bad.push("unnamed " + el.tagName);
  return bad;
})()`

func checkA11y(t *testing.T, ctx context.Context, page string) {
	t.Helper()
	bad := eval[[]string](t, ctx, "a11y "+page, a11yJS)
	if len(bad) > 0 {
		t.Errorf("accessibility of %s: %v", page, bad)
	}
}

// inert checks that no injected markup became live on the current page.
func inert(t *testing.T, ctx context.Context, page string) {
	t.Helper()
	fired := eval[bool](t, ctx, "inert "+page, `!!window.__xss`)
	injected := eval[int](t, ctx, "inert "+page, `document.querySelectorAll("img[src='x'], script:not([src]), b.injected").length`)
	if fired || injected > 0 {
		t.Errorf("%s: injected markup is live (script ran: %v, elements: %d)", page, fired, injected)
	}
}

const payload = `<script>window.__xss=1</script><img src='x' onerror='window.__xss=1'><b class="injected">bold</b>`

func apiDo(t *testing.T, n *node.Node, method, path, body string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, n.HTTPURL()+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+n.Token())
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// signInLink does what `connector login` does: sign the hub's challenge
// with the actor's key, here.
func signInLink(t *testing.T, n *node.Node, actor string, kp nkeys.KeyPair) string {
	t.Helper()
	post := func(path string, v, out any) {
		b, _ := json.Marshal(v)
		resp, err := http.Post(n.HTTPURL()+path, "application/json", bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 {
			body, _ := io.ReadAll(resp.Body)
			t.Fatalf("%s: %d %s", path, resp.StatusCode, body)
		}
		_ = json.NewDecoder(resp.Body).Decode(out)
	}
	var ch web.Challenge
	post("/login/challenge", web.ChallengeRequest{Actor: actor}, &ch)
	sig, _ := kp.Sign(web.LoginMessage(ch.Nonce))
	var link web.SignInLink
	post("/login/token", web.TokenRequest{Actor: actor, Nonce: ch.Nonce, Signature: base64.RawURLEncoding.EncodeToString(sig)}, &link)
	return n.HTTPURL() + link.Path
}

// schemasWithShortHeadlines copies the repository's schemas, the job ad's
// headline capped at 10 characters: the schema "before the fix".
func schemasWithShortHeadlines(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(hubtest.SchemasDir())); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "jobads", "jobad.schema.json")
	var doc map[string]any
	_ = json.Unmarshal(hubtest.ReadFile(t, p), &doc)
	doc["properties"].(map[string]any)["headline"].(map[string]any)["maxLength"] = 10
	b, _ := json.MarshalIndent(doc, "", "  ")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func adminSignIn(t *testing.T, ctx context.Context, n *node.Node) {
	t.Helper()
	run(t, ctx, "admin sign-in",
		nav(n.HTTPURL()+"/admin/login"),
		chromedp.SetValue(chromedp.CSS("#token"), n.Token()),
		chromedp.Click(chromedp.CSS(`form[action="/admin/login"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`nav[aria-label="Admin"]`)))
}

// TestBrowser drives the hub's pages in a real headless Chromium: a dead
// letter re-driven after a schema fix; the public catalog and an open
// download; an actor signing in and asking for access; the admin approving
// it and the actor's live subscription receiving records at once; a service
// published and found by search; markup in records and descriptions inert;
// the accessibility checks on every page visited.
func TestBrowser(t *testing.T) {
	t.Parallel()
	ctx := browser(t)
	dir := shots(t)
	_ = os.MkdirAll(dir, 0o755)

	// A hub whose job-ad schema is too strict: a good ad is dead-lettered.
	cfg := hubtest.Config(t.TempDir())
	cfg.Schemas = schemasWithShortHeadlines(t)
	n := hubtest.Start(t, cfg)
	ad := map[string]any{}
	_ = json.Unmarshal(hubtest.ReadFile(t, filepath.Join(hubtest.SchemasDir(), "jobads", "examples", "valid", "small-ad.json")), &ad)
	ad["headline"] = "Backend developer " + payload
	adJSON, _ := json.Marshal(ad)
	if code, b := apiDo(t, n, http.MethodPost, "/api/v1/datasets/jobads/records", string(adJSON)); code != http.StatusUnprocessableEntity {
		t.Fatalf("ad with a long headline under the strict schema: %d %s", code, b)
	}
	// The fix: the repository's schema, registered as version 2 while the
	// hub runs (it accepts all the strict one did: BACKWARD compatible).
	fixed := string(hubtest.ReadFile(t, filepath.Join(hubtest.SchemasDir(), "jobads", "jobad.schema.json")))
	if code, b := apiDo(t, n, http.MethodPost, "/api/v1/datasets/jobads/schemas", fixed); code != http.StatusCreated {
		t.Fatalf("register the fixed schema: %d %s", code, b)
	}

	adminSignIn(t, ctx, n)
	run(t, ctx, "dead letters", nav(n.HTTPURL()+"/admin/deadletters?dataset=jobads"), chromedp.WaitVisible(chromedp.CSS("table")))
	inert(t, ctx, "dead letters")
	checkA11y(t, ctx, "dead letters")
	shot(t, ctx, dir, "admin-deadletters")
	submit(t, ctx, "re-drive", `form[action$="/redrive"] button`)
	flash := text(t, ctx, ".flash")
	if !strings.Contains(flash, "re-driven") {
		t.Fatalf("re-drive: %q", flash)
	}
	code, body := apiDo(t, n, http.MethodGet, "/api/v1/datasets/jobads/records", "")
	var env struct {
		Publisher string          `json:"publisher"`
		Data      json.RawMessage `json:"data"`
	}
	if code != 200 || json.Unmarshal(bytes.SplitN(body, []byte("\n"), 2)[0], &env) != nil || env.Publisher != "admin" || !bytes.Contains(env.Data, []byte("Backend developer")) {
		t.Fatalf("re-driven record: %d %s", code, body)
	}

	// The public catalog and an open download.
	run(t, ctx, "catalog", nav(n.HTTPURL()+"/"), chromedp.WaitVisible(chromedp.CSS(".cards")))
	cards := eval[[]string](t, ctx, "catalog cards", `[...document.querySelectorAll(".cards .card h2 a")].map(a => a.getAttribute("href"))`)
	if !slices.Contains(cards, "/datasets/jobads") || !slices.Contains(cards, "/datasets/taxonomy-concepts") {
		t.Errorf("the catalog lists %v, want jobads and taxonomy-concepts", cards)
	}
	checkA11y(t, ctx, "home")
	shot(t, ctx, dir, "catalog")
	if code, b := apiDo(t, n, http.MethodPost, "/api/v1/datasets/taxonomy-concepts/records", `{"id":"aaaa_bbb_ccc","label":"Label `+strings.ReplaceAll(payload, `"`, `\"`)+`","type":"skill"}`); code != 201 {
		t.Fatalf("concept: %d %s", code, b)
	}
	run(t, ctx, "dataset page",
		nav(n.HTTPURL()+"/datasets/taxonomy-concepts"), chromedp.WaitVisible(chromedp.CSS("#schema")))
	download := eval[string](t, ctx, "download", `fetch(document.querySelector('a[href$="snapshot.ndjson"]').href).then(r => r.text())`, chromedp.EvalAwaitPromise)
	if !strings.Contains(download, `"aaaa_bbb_ccc"`) || !strings.Contains(download, `"dataset":"taxonomy-concepts"`) {
		t.Fatalf("open download: %.300s", download)
	}
	schema := text(t, ctx, `section[aria-labelledby="schema"]`)
	for _, want := range []string{"Version 1", "Fields of version", "/id", "/label", "An example record"} {
		if !strings.Contains(schema, want) {
			t.Errorf("the dataset page's schema section lacks %q:\n%.600s", want, schema)
		}
	}
	checkA11y(t, ctx, "dataset")
	shot(t, ctx, dir, "dataset")
	status := eval[int](t, ctx, "closed download", `fetch("/open/jobads/snapshot.ndjson").then(r => r.status)`, chromedp.EvalAwaitPromise)
	if status != 404 {
		t.Errorf("download of a dataset that is not open: %d, want 404", status)
	}

	// An actor signs in with its key and asks for access.
	kp, _ := nkeys.CreateUser()
	pub, _ := kp.PublicKey()
	if _, err := n.Access().CreateActor(ctx, "newcomer", pub, "admin"); err != nil {
		t.Fatal(err)
	}
	c, err := kit.DialKey(ctx, n.NATSURL(), "newcomer", pub, kp.Sign, kit.WithLogger(hubtest.Logger(t)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	run(t, ctx, "actor sign-in", nav(signInLink(t, n, "newcomer", kp)), chromedp.WaitVisible(chromedp.CSS("#rights")))
	until := time.Now().AddDate(0, 1, 0).Format(time.DateOnly)
	run(t, ctx, "request access",
		chromedp.SetValue(chromedp.CSS("#req-dataset"), "jobads"),
		chromedp.SetValue(chromedp.CSS("#req-action"), "subscribe"),
		chromedp.SetValue(chromedp.CSS("#req-purpose"), "Matching research "+payload),
		chromedp.SetValue(chromedp.CSS("#req-until"), until))
	submit(t, ctx, "request access", `form[action="/me/requests"] button`)
	state := text(t, ctx, `#requests ~ table .pending`)
	if state != "pending" {
		t.Fatalf("request state %q", state)
	}
	inert(t, ctx, "me")
	checkA11y(t, ctx, "me")
	shot(t, ctx, dir, "actor")

	// A service published from the actor's page, then found by search.
	run(t, ctx, "publish service",
		chromedp.SetValue(chromedp.CSS("#svc-name"), "newcomer-match"),
		chromedp.SetValue(chromedp.CSS("#svc-title"), "Newcomer matching"),
		chromedp.SetValue(chromedp.CSS("#svc-desc"), "Finds jobs for newcomers "+payload),
		chromedp.SetValue(chromedp.CSS("#svc-cat"), "matching"),
		chromedp.SetValue(chromedp.CSS("#svc-url"), "https://newcomer.example/"),
		chromedp.Click(chromedp.CSS("#svc-ds-jobads")),
		chromedp.SetValue(chromedp.CSS("#svc-contact"), "team@newcomer.example"))
	submit(t, ctx, "publish service", `form[action="/me/services"] button`)
	inert(t, ctx, "service")
	run(t, ctx, "search", nav(n.HTTPURL()+"/services"),
		chromedp.SetValue(chromedp.CSS("#q"), "newcomers"), chromedp.SetValue(chromedp.CSS("#category"), "matching"),
		chromedp.Click(chromedp.CSS(`form[role="search"] button`)), chromedp.WaitVisible(chromedp.CSS(".cards")))
	found := eval[int](t, ctx, "search", `document.querySelectorAll('.cards a[href="/services/newcomer/newcomer-match"]').length`)
	if found != 1 {
		t.Fatalf("the service is not found by search")
	}
	inert(t, ctx, "services")
	checkA11y(t, ctx, "services")
	shot(t, ctx, dir, "jobstore")

	// The admin approves; the actor's live connection may subscribe at once.
	adminSignIn(t, ctx, n)
	run(t, ctx, "approve", nav(n.HTTPURL()+"/admin/requests"), chromedp.WaitVisible(chromedp.CSS("table")))
	inert(t, ctx, "admin requests")
	checkA11y(t, ctx, "admin requests")
	shot(t, ctx, dir, "admin-requests")
	// A form posted without its CSRF token is refused, and changes nothing.
	forged := eval[int](t, ctx, "approve without csrf", `(() => {
  const f = document.querySelector('form[action$="/approve"]');
  const d = new FormData(f); d.delete("csrf");
  return fetch(f.action, {method: "POST", body: new URLSearchParams(d)}).then(r => r.status);
})()`, chromedp.EvalAwaitPromise)
	if forged != http.StatusForbidden {
		t.Errorf("an approval posted without the CSRF token: %d, want 403", forged)
	}
	submit(t, ctx, "approve", `form[action$="/approve"] button`)
	var got atomic.Int64
	var sub *kit.Subscription
	for deadline := time.Now().Add(10 * time.Second); ; {
		sctx, cancel := context.WithTimeout(context.Background(), time.Second)
		sub, err = c.Subscribe(sctx, "jobads", func(context.Context, kit.Delivery) error { got.Add(1); return nil }, kit.FromSnapshot())
		cancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("subscribe after approval: %v", err)
		}
	}
	defer sub.Stop()
	// A tombstone: it names no taxonomy concept (the taxonomy holds only the
	// one skill published above, so an ad's concept ids would be refused).
	if code, b := apiDo(t, n, http.MethodPost, "/api/v1/datasets/jobads/records", string(hubtest.ReadFile(t, filepath.Join(hubtest.SchemasDir(), "jobads", "examples", "valid", "tombstone-22884504.json")))); code != 201 {
		t.Fatalf("publish: %d %s", code, b)
	}
	for deadline := time.Now().Add(5 * time.Second); got.Load() < 2; {
		if time.Now().After(deadline) {
			t.Fatalf("the approved subscription received %d records, want the stored one and the new one", got.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, p := range []string{"/admin", "/admin/actors", "/admin/policies?actor=newcomer", "/admin/audit"} {
		run(t, ctx, p, nav(n.HTTPURL()+p), chromedp.WaitVisible(chromedp.CSS("h1")))
		inert(t, ctx, p)
		checkA11y(t, ctx, p)
	}
	run(t, ctx, "explain", nav(n.HTTPURL()+"/admin/policies?actor=newcomer&dataset=jobads&action=subscribe"),
		chromedp.WaitVisible(chromedp.CSS("h1")))
	layer := text(t, ctx, "main")
	if !strings.Contains(layer, "access-requests") {
		t.Errorf("policies page does not show the grant's layer")
	}
	shot(t, ctx, dir, "admin-policies")
	run(t, ctx, "audit", nav(n.HTTPURL()+"/admin/audit"), chromedp.WaitVisible(chromedp.CSS("h1")))
	shot(t, ctx, dir, "admin-audit")

	// Signing out ends the session: the admin pages ask for the token again.
	submitThen(t, ctx, "sign out", `form[action="/logout"] button`, "h1")
	run(t, ctx, "admin after sign-out", nav(n.HTTPURL()+"/admin"), chromedp.WaitVisible(chromedp.CSS("#token")))
}
