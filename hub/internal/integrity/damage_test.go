package integrity_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/hub/internal/api"
	"github.com/jobtech-dev/datahub/hub/internal/audit"
	"github.com/jobtech-dev/datahub/hub/internal/backup"
	"github.com/jobtech-dev/datahub/hub/internal/config"
	"github.com/jobtech-dev/datahub/hub/internal/hubtest"
	"github.com/jobtech-dev/datahub/hub/internal/integrity"
	"github.com/jobtech-dev/datahub/hub/internal/node"
)

// logs collects a hub's log lines.
type logs struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// hub is a test hub on a data dir that outlives its restarts.
type hub struct {
	t    *testing.T
	cfg  config.Config
	n    *node.Node
	logs *logs
}

func newHub(t *testing.T) *hub {
	h := &hub{t: t, cfg: hubtest.Config(t.TempDir())}
	h.start()
	return h
}

// start starts the hub and keeps its log lines (from a fresh buffer).
func (h *hub) start() {
	h.t.Helper()
	h.logs = &logs{}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n, err := node.Start(ctx, h.cfg, slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		h.t.Fatalf("start hub: %v\n%s", err, h.logs)
	}
	h.n = n
	h.t.Cleanup(func() { hubtest.Stop(h.t, n) })
}

func (h *hub) restart() {
	h.t.Helper()
	hubtest.Stop(h.t, h.n)
	h.start()
}

// streams is the folder of the JetStream streams.
func (h *hub) streams() string {
	return filepath.Join(h.cfg.Data, "jetstream", "jetstream", "$G", "streams")
}

// call sends an admin API request and returns the status and body.
func (h *hub) call(method, path string, body any) (int, []byte, http.Header) {
	h.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, h.n.HTTPURL()+path, rd)
	req.Header.Set("Authorization", "Bearer "+h.n.Token())
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Trailer
}

// publish stores n job ads with the keys k0…k<n-1> as the admin.
func (h *hub) publish(n int) {
	h.t.Helper()
	ad := bytes.TrimSpace(hubtest.ReadFile(h.t, filepath.Join(hubtest.SchemasDir(), "jobads", "examples", "valid", "small-ad.json")))
	var b bytes.Buffer
	for i := range n {
		b.Write(bytes.Replace(ad, []byte(`"id":"23187561"`), fmt.Appendf(nil, `"id":"k%d"`, i), 1))
		b.WriteByte('\n')
	}
	req, _ := http.NewRequest(http.MethodPost, h.n.HTTPURL()+"/api/v1/datasets/jobads/records", &b)
	req.Header.Set("Authorization", "Bearer "+h.n.Token())
	req.Header.Set("Content-Type", "application/x-ndjson")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		h.t.Fatalf("publish: %s", resp.Status)
	}
}

// readyz returns /readyz's status and the findings it lists.
func (h *hub) readyz() (int, []integrity.Finding) {
	h.t.Helper()
	resp, err := http.Get(h.n.HTTPURL() + "/readyz")
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Title  string              `json:"title"`
		Detail string              `json:"detail"`
		Damage []integrity.Finding `json:"damage"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body.Damage
}

// audited returns the audit entries of kind.
func (h *hub) audited(kind string) []audit.Entry {
	h.t.Helper()
	var out []audit.Entry
	if err := h.n.Audit().Tail(h.t.Context(), 0, false, func(e audit.Entry) error {
		if e.Kind == kind {
			out = append(out, e)
		}
		return nil
	}); err != nil {
		h.t.Fatal(err)
	}
	return out
}

// read reads a dataset through the API: the records' sequences and the
// unreadable trailer.
func (h *hub) read(query string) ([]uint64, string) {
	h.t.Helper()
	status, body, trailer := h.call(http.MethodGet, "/api/v1/datasets/jobads/records"+query, nil)
	if status != http.StatusOK {
		h.t.Fatalf("read %s: %d %s", query, status, body)
	}
	var seqs []uint64
	for _, l := range bytes.Split(bytes.TrimSpace(body), []byte("\n")) {
		if len(l) == 0 {
			continue
		}
		var e wire.Envelope
		if err := json.Unmarshal(l, &e); err != nil {
			h.t.Fatalf("read %s: %q: %v", query, l, err)
		}
		seqs = append(seqs, e.Seq)
	}
	return seqs, trailer.Get(api.UnreadableTrailer)
}

// wantDegraded checks the ERROR line, /readyz, the damage list and the
// audit entry of one finding about name, sequences from-to.
func (h *hub) wantDegraded(name, kind string, from, to uint64) integrity.Finding {
	h.t.Helper()
	rng := fmt.Sprintf("%d-%d", from, to)
	if from == to {
		rng = fmt.Sprint(from)
	}
	var line string
	for _, l := range strings.Split(h.logs.String(), "\n") {
		if strings.Contains(l, "level=ERROR") && strings.Contains(l, "data lost") && strings.Contains(l, name) && strings.Contains(l, "sequences="+rng) {
			line = l
		}
	}
	if line == "" {
		h.t.Fatalf("no ERROR line naming %s and sequences %s:\n%s", name, rng, h.logs)
	}
	status, damage := h.readyz()
	if status != http.StatusServiceUnavailable || len(damage) != 1 {
		h.t.Fatalf("/readyz %d with %+v, want 503 degraded with one finding", status, damage)
	}
	f := damage[0]
	if f.Name() != name || f.Kind != kind || f.From != from || f.To != to {
		h.t.Fatalf("finding %+v, want %s %s %d-%d", f, name, kind, from, to)
	}
	st, body, _ := h.call(http.MethodGet, "/api/v1/damage", nil)
	var rep api.DamageReport
	if err := json.Unmarshal(body, &rep); st != http.StatusOK || err != nil || rep.Status != "degraded" || len(rep.Findings) != 1 {
		h.t.Fatalf("GET /api/v1/damage: %d %s", st, body)
	}
	found := h.audited(audit.KindDamageFound)
	if len(found) != 1 || found[0].Subject != name || !strings.Contains(string(found[0].Detail), `"from":`+fmt.Sprint(from)) {
		h.t.Fatalf("audit entries %s: %+v", audit.KindDamageFound, found)
	}
	return f
}

// ack acknowledges name and checks the hub is ready again, the
// acknowledgement audited, and a restart does not report it again.
func (h *hub) ack(name string) {
	h.t.Helper()
	st, body, _ := h.call(http.MethodPost, "/api/v1/damage/"+name+"/ack", api.AckDamageRequest{})
	if st != http.StatusBadRequest {
		h.t.Fatalf("ack without a reason: %d %s", st, body)
	}
	st, body, _ = h.call(http.MethodPost, "/api/v1/damage/nosuch/ack", api.AckDamageRequest{Reason: "x"})
	if st != http.StatusNotFound {
		h.t.Fatalf("ack of nothing: %d %s", st, body)
	}
	st, body, _ = h.call(http.MethodPost, "/api/v1/damage/"+name+"/ack", api.AckDamageRequest{Reason: "accepted as lost in a test"})
	var res api.AckDamageResult
	if err := json.Unmarshal(body, &res); st != http.StatusOK || err != nil || res.Status != "ok" || len(res.Acknowledged) != 1 {
		h.t.Fatalf("ack: %d %s", st, body)
	}
	if status, damage := h.readyz(); status != http.StatusOK {
		h.t.Fatalf("/readyz after the ack: %d %+v", status, damage)
	}
	acks := h.audited(audit.KindDamageAcknowledged)
	if len(acks) != 1 || acks[0].Subject != name || acks[0].Actor != audit.ActorAdmin || !strings.Contains(string(acks[0].Detail), "accepted as lost") {
		h.t.Fatalf("audit entries %s: %+v", audit.KindDamageAcknowledged, acks)
	}
	h.restart()
	if status, damage := h.readyz(); status != http.StatusOK {
		h.t.Fatalf("/readyz after a restart: %d %+v\n%s", status, damage, h.logs)
	}
}

func TestDeletedStreamFolderIsReported(t *testing.T) {
	t.Parallel()
	h := newHub(t)
	h.publish(203)
	hubtest.Stop(t, h.n)
	if err := os.RemoveAll(filepath.Join(h.streams(), "DS_jobads")); err != nil {
		t.Fatal(err)
	}
	h.start()
	h.wantDegraded("jobads", integrity.KindStreamGone, 1, 203)
	// The dataset still works; new records start a new stream.
	h.publish(2)
	if seqs, bad := h.read(""); len(seqs) != 2 || bad != "" {
		t.Fatalf("read after the loss: %v %q", seqs, bad)
	}
	h.ack("jobads")
}

func TestDeletedMessageBlockIsReported(t *testing.T) {
	t.Parallel()
	h := newHub(t)
	h.publish(203)
	hubtest.Stop(t, h.n)
	if err := os.Remove(filepath.Join(h.streams(), "DS_jobads", "msgs", "1.blk")); err != nil {
		t.Fatal(err)
	}
	h.start()
	h.wantDegraded("jobads", integrity.KindHeadLost, 1, 203)
	h.ack("jobads")
}

func TestTruncatedMessageBlockIsReported(t *testing.T) {
	t.Parallel()
	h := newHub(t)
	h.publish(203)
	hubtest.Stop(t, h.n)
	blk := filepath.Join(h.streams(), "DS_jobads", "msgs", "1.blk")
	b := hubtest.ReadFile(t, blk)
	i := bytes.Index(b, []byte("data.jobads.k150"))
	if err := os.WriteFile(blk, b[:i-30], 0o600); err != nil { // cut inside record 150
		t.Fatal(err)
	}
	h.start()
	f := h.wantDegraded("jobads", integrity.KindTailLost, 150, 203)
	if f.Count != 54 {
		t.Fatalf("count %d, want 54", f.Count)
	}
	h.ack("jobads")
}

// flip changes a byte inside the payload of the job ad with key k in the
// dataset's (only) message block.
func flip(t *testing.T, h *hub, stream, marker string) {
	t.Helper()
	blk := filepath.Join(h.streams(), stream, "msgs", "1.blk")
	b := hubtest.ReadFile(t, blk)
	i := bytes.Index(b, []byte(marker))
	if i < 0 {
		t.Fatalf("%q not in %s", marker, blk)
	}
	b[i+len(marker)+60] ^= 0x55
	if err := os.WriteFile(blk, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestDamagedMessageIsPassedOverAndReported(t *testing.T) {
	t.Parallel()
	h := newHub(t)
	h.publish(203)
	hubtest.Stop(t, h.n)
	flip(t, h, "DS_jobads", "data.jobads.k100") // sequence 101
	h.start()
	// The counts still match the record: only a read can tell.
	if status, damage := h.readyz(); status != http.StatusOK {
		t.Fatalf("/readyz before any read: %d %+v", status, damage)
	}
	start := time.Now()
	seqs, bad := h.read("")
	if len(seqs) != 202 || bad != "101" {
		t.Fatalf("full read: %d records, unreadable %q; want 202 and 101", len(seqs), bad)
	}
	snap, bad := h.read("?snapshot=true")
	if len(snap) != 202 || bad != "101" {
		t.Fatalf("snapshot: %d records, unreadable %q; want 202 and 101", len(snap), bad)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("the two reads took %s", d)
	}
	h.wantDegraded("jobads", integrity.KindUnreadable, 101, 101)
	h.ack("jobads")
}

func TestDamagedActorsBucketNamesIt(t *testing.T) {
	t.Parallel()
	h := newHub(t)
	var names []string
	for i := range 5 {
		a := hubtest.NewActor(t, fmt.Sprintf("actor%d", i))
		if _, err := h.n.Access().CreateActor(t.Context(), a.Name, a.PublicKey(), audit.ActorAdmin); err != nil {
			t.Fatal(err)
		}
		names = append(names, a.Name)
	}
	if _, err := h.n.Access().RevokeActor(t.Context(), "actor4", audit.ActorAdmin); err != nil {
		t.Fatal(err)
	}
	hubtest.Stop(t, h.n)
	flip(t, h, "KV_hub_actors", "$KV.hub_actors.actor2") // sequence 3
	start := time.Now()
	h.start()
	if d := time.Since(start); d > 15*time.Second {
		t.Fatalf("start took %s", d)
	}
	if !strings.Contains(h.logs.String(), "hub_actors") || strings.Contains(h.logs.String(), "policy bucket") {
		t.Fatalf("the start's errors do not name the actors bucket:\n%s", h.logs)
	}
	h.wantDegraded("hub_actors", integrity.KindUnreadable, 3, 3)
	for _, n := range names {
		_, ok := h.n.Access().Actors.Get(n)
		if want := n != "actor2" && n != "actor4"; ok != want {
			t.Errorf("actor %s known: %v, want %v (damaged entries are refused, revoked ones stay revoked)", n, ok, want)
		}
	}
}

// Losing the record file alone loses nothing (its copy in JetStream is
// used); losing both is said once, audited, and not called damage.
func TestLostRecord(t *testing.T) {
	t.Parallel()
	h := newHub(t)
	h.publish(20)
	hubtest.Stop(t, h.n)
	if err := os.Remove(filepath.Join(h.cfg.Data, integrity.FileName)); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(h.streams(), "DS_jobads")); err != nil {
		t.Fatal(err)
	}
	h.start()
	h.wantDegraded("jobads", integrity.KindStreamGone, 1, 20)
	h.ack("jobads")

	// A damaged file: the copy is used.
	h.publish(5)
	hubtest.Stop(t, h.n)
	rec := filepath.Join(h.cfg.Data, integrity.FileName)
	b := hubtest.ReadFile(t, rec)
	if err := os.WriteFile(rec, bytes.Replace(b, []byte(`"last_seq": 5`), []byte(`"last_seq": 9`), 1), 0o600); err != nil {
		t.Fatal(err)
	}
	h.start()
	if status, damage := h.readyz(); status != http.StatusOK {
		t.Fatalf("/readyz with a damaged record file: %d %+v\n%s", status, damage, h.logs)
	}
	if !strings.Contains(h.logs.String(), "using its copy") {
		t.Fatalf("no warning about the damaged record file:\n%s", h.logs)
	}

	// Both gone: said, audited, not degraded.
	hubtest.Stop(t, h.n)
	_ = os.Remove(rec)
	if err := os.RemoveAll(filepath.Join(h.streams(), integrity.BucketStream)); err != nil {
		t.Fatal(err)
	}
	h.start()
	if status, _ := h.readyz(); status != http.StatusOK {
		t.Fatalf("/readyz without any record: %d", status)
	}
	if !strings.Contains(h.logs.String(), "no record of what the streams held") {
		t.Fatalf("no warning about the missing record:\n%s", h.logs)
	}
	if e := h.audited(audit.KindDamageUnverified); len(e) != 1 {
		t.Fatalf("audit entries %s: %+v", audit.KindDamageUnverified, e)
	}
}

// A backup taken while a message is unreadable goes past it; the restore
// says so, and the restored hub reports the message lost at its first start.
func TestBackupOfADamagedStreamReportsTheGapAfterRestore(t *testing.T) {
	t.Parallel()
	h := newHub(t)
	h.publish(203)
	hubtest.Stop(t, h.n)
	flip(t, h, "DS_jobads", "data.jobads.k100") // sequence 101
	h.start()
	src := &backup.Source{Connect: h.n.NATS().Connect, JS: h.n.JetStream(), Hub: "hub"}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	if _, err := src.Write(t.Context(), mw, time.Now()); err != nil {
		t.Fatal(err)
	}
	_ = mw.Close()
	dir := filepath.Join(t.TempDir(), "backup")
	if _, err := backup.Receive(&body, mw.Boundary(), dir); err != nil {
		t.Fatal(err)
	}
	restored := &hub{t: t, cfg: hubtest.Config(filepath.Join(t.TempDir(), "restored"))}
	res, err := backup.Restore(t.Context(), dir, restored.cfg.Data, nil)
	if err != nil || len(res.Lacking) != 1 || res.Lacking[0] != "DS_jobads" {
		t.Fatalf("restore: %+v, %v", res.Lacking, err)
	}
	restored.start()
	restored.wantDegraded("jobads", integrity.KindGap, 101, 101)
	if seqs, bad := restored.read(""); len(seqs) != 202 || bad != "" {
		t.Fatalf("read of the restored hub: %d records, unreadable %q", len(seqs), bad)
	}
}
