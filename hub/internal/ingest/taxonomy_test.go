package ingest_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/hub/internal/hubtest"
	"github.com/jobtech-dev/datahub/hub/internal/natsd"
	"github.com/jobtech-dev/datahub/hub/internal/node"
	"github.com/jobtech-dev/datahub/internal/publish"
)

// taxonomyAd is a job ad naming the occupation Backend-utvecklare, the
// municipality Stockholm by its legacy code, and skill as a must-have.
func taxonomyAd(id, skill string) []byte {
	return fmt.Appendf(nil, `{"id":%q,"headline":"Kyltekniker","description":{"text":"Underhåll av kylanläggningar."},`+
		`"employer":{"name":"Kyl AB"},"occupation":{"concept_id":"7wdX_4rv_33z","label":"Backend-utvecklare"},`+
		`"workplace_address":{"municipality_code":"0180"},"must_have":{"skills":[{"concept_id":%q,"label":"Kylteknik","weight":10}]},`+
		`"publication_date":"2026-11-30T10:00:00"}`, id, skill)
}

// publishConcepts publishes the records of an NDJSON file of concepts.
func publishConcepts(t *testing.T, p *publish.Publisher, file string) {
	t.Helper()
	for _, l := range bytes.Split(bytes.TrimSpace(hubtest.ReadFile(t, file)), []byte("\n")) {
		if r, err := p.Publish(ctx(t), "taxonomy-concepts", l, ""); err != nil || r.Status != wire.StatusStored {
			t.Fatalf("concept %s: %+v %v", l, r, err)
		}
	}
}

// TestConceptPublishedNowIsAcceptedInTheNextAd: on a real hub whose
// taxonomy holds concepts, an ad naming a skill the taxonomy lacks is
// rejected naming the id, its pointer and the type; once the skill is
// published, the very next ad naming it is stored — every time, for many
// skills in a row — and once its id is withdrawn (a tombstone), refused
// again.
func TestConceptPublishedNowIsAcceptedInTheNextAd(t *testing.T) {
	t.Parallel()
	n, p, _ := setup(t)
	publishConcepts(t, p, filepath.Join(hubtest.SchemasDir(), "taxonomy-concepts", "examples", "valid", "concepts.ndjson"))

	r, err := p.Publish(ctx(t), "jobads", taxonomyAd("t-0", "11L4_Q2Z_8tM"), "")
	if err != nil {
		t.Fatal(err)
	}
	want := []wire.Violation{{Pointer: "/must_have/skills/0/concept_id", Keyword: "x-taxonomy",
		Message: `"11L4_Q2Z_8tM" is not the id of a skill concept in the taxonomy`}}
	if r.Status != wire.StatusRejected || !reflect.DeepEqual(r.Violations, want) {
		t.Fatalf("ad naming an unknown skill: %+v", r)
	}
	for i := 1; i <= 40; i++ {
		skill := fmt.Sprintf("Sk%02d_abc_def", i)
		c := fmt.Appendf(nil, `{"id":%q,"label":"Färdighet %d","type":"skill"}`, skill, i)
		if r, err := p.Publish(ctx(t), "taxonomy-concepts", c, ""); err != nil || r.Status != wire.StatusStored {
			t.Fatalf("concept %s: %+v %v", skill, r, err)
		}
		if r, err := p.Publish(ctx(t), "jobads", taxonomyAd(fmt.Sprintf("t-%d", i), skill), ""); err != nil || r.Status != wire.StatusStored {
			t.Fatalf("the ad right after concept %s was published: %+v %v", skill, r, err)
		}
	}
	if r, err := p.Publish(ctx(t), "taxonomy-concepts", []byte(`{"id":"Sk01_abc_def","removed":true}`), ""); err != nil || r.Status != wire.StatusStored {
		t.Fatalf("tombstone: %+v %v", r, err)
	}
	if r, err := p.Publish(ctx(t), "jobads", taxonomyAd("t-41", "Sk01_abc_def"), ""); err != nil || r.Status != wire.StatusRejected {
		t.Fatalf("ad naming a withdrawn concept: %+v %v", r, err)
	}
	if got := n.Taxonomy().Len(); got != 8+40-1 {
		t.Errorf("index holds %d concepts, want 47", got)
	}
}

// TestTaxonomyFollowedAcrossRestart: a restarted hub loads the concepts
// stored before, tombstones applied, before it takes records.
func TestTaxonomyFollowedAcrossRestart(t *testing.T) {
	t.Parallel()
	cfg := hubtest.Config(t.TempDir())
	n := hubtest.Start(t, cfg)
	board := hubtest.NewActor(t, "board")
	grants := map[hubtest.Actor]natsd.Grant{board: hubtest.IngestOnly("board", "jobads", "taxonomy-concepts")}
	hubtest.Allow(t, n, grants)
	p, err := publish.New(hubtest.Connect(t, n, board), "board")
	if err != nil {
		t.Fatal(err)
	}
	publishConcepts(t, p, filepath.Join(hubtest.SchemasDir(), "taxonomy-concepts", "examples", "valid", "concepts.ndjson"))
	for _, c := range []string{`{"id":"11L4_Q2Z_8tM","label":"Kylteknik","type":"skill"}`, `{"id":"AvNB_uwa_6n6","removed":true}`} {
		if r, err := p.Publish(ctx(t), "taxonomy-concepts", []byte(c), ""); err != nil || r.Status != wire.StatusStored {
			t.Fatalf("%s: %+v %v", c, r, err)
		}
	}
	p.Close()
	hubtest.Stop(t, n)

	n = hubtest.Start(t, cfg)
	if got := n.Taxonomy().Len(); got != 8 {
		t.Fatalf("restarted hub's taxonomy holds %d concepts, want 8", got)
	}
	hubtest.Allow(t, n, grants)
	p2, err := publish.New(hubtest.Connect(t, n, board), "board")
	if err != nil {
		t.Fatal(err)
	}
	defer p2.Close()
	r, err := p2.Publish(ctx(t), "jobads", taxonomyAd("r-1", "11L4_Q2Z_8tM"), "")
	if err != nil || r.Status != wire.StatusRejected || len(r.Violations) != 1 || r.Violations[0].Pointer != "/workplace_address/municipality_code" {
		t.Fatalf("ad in Stockholm (withdrawn) after the restart: %+v %v", r, err)
	}
}

// reactionSchemas is the repository's schemas plus three copies of jobads
// that reject, warn about and accept deprecated concepts.
func reactionSchemas(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(hubtest.SchemasDir())); err != nil {
		t.Fatal(err)
	}
	decl := hubtest.ReadFile(t, filepath.Join(dir, "jobads", "dataset.yaml"))
	for _, r := range []string{"reject", "warn", "accept"} {
		sub := filepath.Join(dir, "jobads-"+r)
		if err := os.MkdirAll(sub, 0o755); err != nil {
			t.Fatal(err)
		}
		d := bytes.Replace(decl, []byte("name: jobads"), []byte("name: jobads-"+r), 1)
		d = append(d, "taxonomy_deprecated: "+r+"\n"...)
		if err := os.WriteFile(filepath.Join(sub, "dataset.yaml"), d, 0o644); err != nil {
			t.Fatal(err)
		}
		doc := bytes.Replace(hubtest.ReadFile(t, filepath.Join(dir, "jobads", "jobad.schema.json")), []byte("/jobads/v1.json"), []byte("/jobads-"+r+"/v1.json"), 1)
		if err := os.WriteFile(filepath.Join(sub, "jobad.schema.json"), doc, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// syncBuffer is a log sink tests read while the hub writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestDeprecatedConceptReactions publishes a concept, then its deprecation
// (replaced by another), and an ad naming it to three datasets that differ
// only in taxonomy_deprecated: reject refuses it naming the replacement,
// warn stores it with the warning in the reply, a log line and the
// warned count, accept stores it silently.
func TestDeprecatedConceptReactions(t *testing.T) {
	t.Parallel()
	cfg := hubtest.Config(t.TempDir())
	cfg.Schemas = reactionSchemas(t)
	var logs syncBuffer
	start, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n, err := node.Start(start, cfg, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hubtest.Stop(t, n) })
	board := hubtest.NewActor(t, "board")
	hubtest.Allow(t, n, map[hubtest.Actor]natsd.Grant{board: hubtest.IngestOnly("board", "taxonomy-concepts", "jobads-reject", "jobads-warn", "jobads-accept")})
	p, err := publish.New(hubtest.Connect(t, n, board), "board")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	publishConcepts(t, p, filepath.Join(hubtest.SchemasDir(), "taxonomy-concepts", "examples", "valid", "concepts.ndjson"))
	skill := `{"id":"11L4_Q2Z_8tM","label":"Kylteknik","type":"skill"}`
	deprecated := `{"id":"7wdX_4rv_33z","label":"Backend-utvecklare","legacyAmsTaxonomyId":"7632","type":"occupation-name","deprecated":true,` +
		`"replaced_by":[{"id":"rQds_YGd_quU","label":"Mjukvaruutvecklare","type":"occupation-name"}]}`
	for _, c := range []string{skill, deprecated} {
		if r, err := p.Publish(ctx(t), "taxonomy-concepts", []byte(c), ""); err != nil || r.Status != wire.StatusStored {
			t.Fatalf("%s: %+v %v", c, r, err)
		}
	}
	warning := wire.Violation{Pointer: "/occupation/concept_id", Keyword: "x-taxonomy",
		Message: `"7wdX_4rv_33z" names a deprecated occupation-name concept: replaced by rQds_YGd_quU`}
	ad := taxonomyAd("d-1", "11L4_Q2Z_8tM")
	// The one-pass validator checks all three, the taxonomy keyword with
	// the hub's index and each dataset's reaction (registry.Compile).
	for _, name := range []string{"jobads-reject", "jobads-warn", "jobads-accept"} {
		d, ok := n.Registry().Get(name)
		if !ok {
			t.Fatalf("no dataset %s", name)
		}
		if got := d.Validator(); got != "fast" {
			t.Fatalf("%s: validator %s", name, got)
		}
	}
	byRef := n.IngestCounts().ByReference

	r, err := p.Publish(ctx(t), "jobads-reject", ad, "")
	if err != nil || r.Status != wire.StatusRejected || !reflect.DeepEqual(r.Violations, []wire.Violation{warning}) {
		t.Errorf("reject: %+v %v", r, err)
	}
	r, err = p.Publish(ctx(t), "jobads-warn", ad, "")
	if err != nil || r.Status != wire.StatusStored || !reflect.DeepEqual(r.Warnings, []wire.Violation{warning}) {
		t.Errorf("warn: %+v %v", r, err)
	}
	r, err = p.Publish(ctx(t), "jobads-accept", ad, "")
	if err != nil || r.Status != wire.StatusStored || r.Warnings != nil {
		t.Errorf("accept: %+v %v", r, err)
	}
	// The reference wrote the refusal and the warning; the accepted ad
	// passed on the fast path alone.
	if c := n.IngestCounts(); c.Warned != 1 || c.Rejected != 1 || c.ByReference != byRef+2 {
		t.Errorf("counts %+v: want 1 warned, 1 rejected, %d judged by the reference", c, byRef+2)
	}
	if l := logs.String(); !strings.Contains(l, "record stored with warnings") || !strings.Contains(l, "dataset=jobads-warn") ||
		!strings.Contains(l, "replaced by rQds_YGd_quU") {
		t.Errorf("no warning logged for the warn dataset:\n%s", l)
	}
	// Its replacement, once published, draws no warning.
	if r, err := p.Publish(ctx(t), "taxonomy-concepts", []byte(`{"id":"rQds_YGd_quU","label":"Mjukvaruutvecklare","type":"occupation-name"}`), ""); err != nil || r.Status != wire.StatusStored {
		t.Fatalf("replacement: %+v %v", r, err)
	}
	if r, err := p.Publish(ctx(t), "jobads-warn", bytes.ReplaceAll(taxonomyAd("d-2", "11L4_Q2Z_8tM"), []byte("7wdX_4rv_33z"), []byte("rQds_YGd_quU")), ""); err != nil ||
		r.Status != wire.StatusStored || r.Warnings != nil {
		t.Errorf("ad naming the replacement: %+v %v", r, err)
	}
	if c := n.IngestCounts(); c.ByReference != byRef+2 {
		t.Errorf("the ad naming the replacement was judged by the reference: %+v", c)
	}
}
