package federation_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jobtech-dev/datahub/connector-kit/kit"
	"github.com/jobtech-dev/datahub/connector-kit/kittest"
	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/hub/internal/api"
)

func TestMain(m *testing.M) { kittest.Main(m) }

// soak reports whether the long version runs (make federation-soak).
func soak() bool { return os.Getenv("HUB_FED_SOAK") != "" }

// hub is a hub process of a federation test.
type hub struct {
	*kittest.Hub
	name string
	t    testing.TB
}

// policy is one ladon policy of a test hub.
type policy struct {
	ID        string   `json:"id"`
	Subjects  []string `json:"subjects"`
	Resources []string `json:"resources"`
	Actions   []string `json:"actions"`
	Effect    string   `json:"effect"`
}

// grants is the policy folder content: the jobbland actor publishes both
// datasets, and each peer hub subscribes to the datasets given.
func grants(peers map[string][]string) []policy {
	ps := []policy{{ID: "jobbland-publishes", Subjects: []string{"actor:jobbland"}, Resources: []string{"dataset:jobads", "dataset:taxonomy-concepts"},
		Actions: []string{"publish", "read-schema"}, Effect: "allow"}}
	for peer, ds := range peers {
		var res []string
		for _, d := range ds {
			res = append(res, "dataset:"+d)
		}
		if len(res) > 0 {
			ps = append(ps, policy{ID: peer + "-takes", Subjects: []string{"hub:" + peer}, Resources: res, Actions: []string{"subscribe"}, Effect: "allow"})
		}
	}
	return ps
}

// writePolicies writes ps as the only policy file of dir.
func writePolicies(t testing.TB, dir string, ps []policy) {
	t.Helper()
	b, _ := json.MarshalIndent(ps, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "policies.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// schemasWith copies the repository's schemas into a temp folder and
// changes each dataset's declaration and schema with edit (nil: as is).
func schemasWith(t *testing.T, decl func(name string, yaml string) string, schema func(name string, s map[string]any)) string {
	t.Helper()
	dst := t.TempDir()
	src := filepath.Join(kittest.RepoRoot(), "schemas")
	err := filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		out := filepath.Join(dst, rel)
		if fi.IsDir() {
			return os.MkdirAll(out, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		ds := filepath.Base(filepath.Dir(p))
		switch {
		case fi.Name() == "dataset.yaml" && decl != nil:
			b = []byte(decl(ds, string(b)))
		case strings.HasSuffix(fi.Name(), ".schema.json") && schema != nil:
			var s map[string]any
			if err := json.Unmarshal(b, &s); err != nil {
				return err
			}
			schema(ds, s)
			b, _ = json.Marshal(s)
		}
		return os.WriteFile(out, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// startHub starts hub name with the policies ps (in a folder the hub
// applies at each start) and extra serve flags.
func startHub(t testing.TB, name string, ps []policy, extra ...string) *hub {
	t.Helper()
	dir := t.TempDir()
	writePolicies(t, dir, ps)
	h := kittest.StartWith(t, kittest.Options{Policies: dir, Args: append([]string{"--name", name}, extra...)})
	return &hub{Hub: h, name: name, t: t}
}

// setPolicies applies ps on h now (and at its next starts).
func (h *hub) setPolicies(ps []policy) {
	h.t.Helper()
	writePolicies(h.t, h.Policies, ps)
	h.CLI("policy", "apply", "-f", h.Policies)
}

// give creates the identity hub:peer on h and returns its credentials file.
func (h *hub) give(peer string) string {
	h.t.Helper()
	path := filepath.Join(h.t.TempDir(), "to-"+h.name+"-as-"+peer+".nk")
	h.CLI("peer", "create", peer, "--out", path, "--nats-url", h.NATSURL())
	return path
}

// take links h to peer at url with creds, taking datasets; more are more
// `peer add` flags.
func (h *hub) take(peer, url, creds string, datasets []string, more ...string) {
	h.t.Helper()
	args := []string{"peer", "add", peer, url, "--credentials", creds}
	for _, d := range datasets {
		args = append(args, "--dataset", d)
	}
	h.CLI(append(args, more...)...)
}

// peers is the hub's peer list.
func (h *hub) peers() []api.PeerInfo {
	h.t.Helper()
	var out []api.PeerInfo
	if err := json.Unmarshal(h.Get("/api/v1/peers"), &out); err != nil {
		h.t.Fatal(err)
	}
	return out
}

// records reads every stored record of dataset as envelopes.
func (h *hub) records(dataset string) []wire.Envelope {
	h.t.Helper()
	var out []wire.Envelope
	for _, l := range bytes.Split(h.Get("/api/v1/datasets/"+dataset+"/records"), []byte("\n")) {
		if len(bytes.TrimSpace(l)) == 0 {
			continue
		}
		var e wire.Envelope
		if err := json.Unmarshal(l, &e); err != nil {
			h.t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

// deadLetters reads the dead letters of dataset.
func (h *hub) deadLetters(dataset string) []wire.DeadLetter {
	h.t.Helper()
	var out []wire.DeadLetter
	for _, l := range bytes.Split(h.Get("/api/v1/datasets/"+dataset+"/deadletters"), []byte("\n")) {
		if len(bytes.TrimSpace(l)) == 0 {
			continue
		}
		var d wire.DeadLetter
		if err := json.Unmarshal(l, &d); err != nil {
			h.t.Fatal(err)
		}
		out = append(out, d)
	}
	return out
}

// count is how many records h holds of dataset (its stream's count).
func (h *hub) count(dataset string) int {
	h.t.Helper()
	var info api.DatasetInfo
	if err := json.Unmarshal(h.Get("/api/v1/datasets/"+dataset), &info); err != nil {
		h.t.Fatal(err)
	}
	return int(info.Stats.Records)
}

// publishAdmin publishes NDJSON records through h's admin API.
func (h *hub) publishAdmin(dataset string, ndjson []byte) {
	h.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, h.HTTPURL()+"/api/v1/datasets/"+dataset+"/records", bytes.NewReader(ndjson))
	req.Header.Set("Authorization", "Bearer "+h.Token())
	req.Header.Set("Content-Type", "application/x-ndjson")
	resp, err := h.HTTPClient().Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		h.t.Fatalf("publish to %s on %s: %d %s", dataset, h.name, resp.StatusCode, b)
	}
}

// actor dials h as a new actor jobbland (which the test policies let
// publish).
func (h *hub) actor() *kit.Client {
	h.t.Helper()
	path := h.Actor("jobbland")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := kit.Dial(ctx, h.NATSURL(), path, kit.WithLocalValidation(false), kit.WithTimeout(30*time.Second))
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { _ = c.Close() })
	return c
}

// ads makes n job ads (the 1 KiB example ad) with ids prefix0… and
// headlines "ad i".
func ads(prefix string, n int) [][]byte {
	return adsHeadline(prefix, n, func(i int) string { return fmt.Sprintf("ad %d", i) })
}

// adsHeadline is ads with headline(i).
func adsHeadline(prefix string, n int, headline func(int) string) [][]byte {
	b, err := os.ReadFile(filepath.Join(kittest.RepoRoot(), "schemas", "jobads", "examples", "valid", "small-ad.json"))
	if err != nil {
		panic(err)
	}
	var ad map[string]any
	if err := json.Unmarshal(b, &ad); err != nil {
		panic(err)
	}
	out := make([][]byte, n)
	for i := range n {
		ad["id"], ad["headline"] = fmt.Sprintf("%s%d", prefix, i), headline(i)
		out[i], _ = json.Marshal(ad)
	}
	return out
}

func ndjson(recs [][]byte) []byte { return append(bytes.Join(recs, []byte("\n")), '\n') }

// publish stores recs on the actor's hub under record ids prefix<i> and
// returns the envelope ids of those the hub acknowledged.
func publish(t testing.TB, c *kit.Client, dataset, idPrefix string, recs [][]byte) []string {
	t.Helper()
	batch := make([]kit.BatchRecord, len(recs))
	for i, r := range recs {
		batch[i] = kit.BatchRecord{ID: fmt.Sprintf("%s%d", idPrefix, i), Data: r}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := c.PublishBatch(ctx, dataset, batch)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i, r := range res {
		if r.Err != nil {
			t.Fatalf("publish %s: record %d: %v", dataset, i, r.Err)
		}
		ids = append(ids, r.EnvelopeID)
	}
	return ids
}

// eventually polls cond every 50ms until it holds or timeout passes.
func eventually(t testing.TB, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	last := ""
	for {
		ok, why := cond()
		if ok {
			return
		}
		last = why
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s: %s", what, timeout, last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// exactlyOnce checks that h holds each of want exactly once and nothing
// else of origins.
func exactlyOnce(h *hub, dataset string, want []string) (bool, string) {
	seen := map[string]int{}
	for _, e := range h.records(dataset) {
		seen[e.ID]++
	}
	missing, twice := 0, 0
	for _, id := range want {
		switch seen[id] {
		case 0:
			missing++
		case 1:
		default:
			twice++
		}
	}
	extra := 0
	wantSet := map[string]bool{}
	for _, id := range want {
		wantSet[id] = true
	}
	for id, n := range seen {
		if !wantSet[id] {
			extra += n
		}
	}
	return missing == 0 && twice == 0 && extra == 0, fmt.Sprintf("%s on %s: %d of %d missing, %d stored more than once, %d unexpected", dataset, h.name, missing, len(want), twice, extra)
}

// proxy is a TCP proxy a test can cut: while cut it refuses new
// connections and has dropped the open ones.
type proxy struct {
	t      *testing.T
	ln     net.Listener
	target string

	mu    sync.Mutex
	cut   bool
	conns map[net.Conn]struct{}
}

func newProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{t: t, ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	go p.serve()
	t.Cleanup(func() { ln.Close(); p.setCut(true) })
	return p
}

// URL is the proxy's address as a NATS URL.
func (p *proxy) URL() string { return "nats://" + p.ln.Addr().String() }

func (p *proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.cut {
			p.mu.Unlock()
			c.Close()
			continue
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			p.mu.Unlock()
			c.Close()
			continue
		}
		p.conns[c], p.conns[up] = struct{}{}, struct{}{}
		p.mu.Unlock()
		go p.pipe(c, up)
		go p.pipe(up, c)
	}
}

func (p *proxy) pipe(dst, src net.Conn) {
	_, _ = io.Copy(dst, src)
	dst.Close()
	src.Close()
	p.mu.Lock()
	delete(p.conns, dst)
	delete(p.conns, src)
	p.mu.Unlock()
}

// setCut cuts the link (dropping every open connection) or restores it.
func (p *proxy) setCut(cut bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = cut
	if cut {
		for c := range p.conns {
			c.Close()
		}
	}
}

// natsAddr is host:port of a nats:// URL.
func natsAddr(u string) string { return strings.TrimPrefix(u, "nats://") }
