package taxonomy

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/jobtech-dev/datahub/connector-kit/schema"
	"github.com/jobtech-dev/datahub/connector-kit/wire"
)

// conceptsFile is the real JobTech taxonomy snapshot.
const conceptsFile = "../../testdata/jobtech/taxonomy-concepts.json"

func TestIndexPutReplaceRemove(t *testing.T) {
	t.Parallel()
	x := NewIndex()
	if x.Len() != 0 || x.Concept("municipality", "AvNB_uwa_6n6", false).Known {
		t.Fatal("a new index is empty")
	}
	x.Put(Concept{ID: "AvNB_uwa_6n6", Type: "municipality", Label: "Stockholm", LegacyID: "0180"})
	x.Put(Concept{ID: "7wdX_4rv_33z", Type: "occupation-name", Label: "Backend-utvecklare", LegacyID: "7632"})
	for _, tc := range []struct {
		typ, value string
		legacy     bool
		known      bool
		id         string
	}{
		{"municipality", "AvNB_uwa_6n6", false, true, "AvNB_uwa_6n6"},
		{"municipality", "0180", true, true, "AvNB_uwa_6n6"},
		{"municipality", "0180", false, false, ""},        // a legacy id is not a concept id
		{"municipality", "AvNB_uwa_6n6", true, false, ""}, // nor the other way round
		{"region", "AvNB_uwa_6n6", false, false, ""},      // another type
		{"occupation-name", "7wdX_4rv_33z", false, true, "7wdX_4rv_33z"},
		{"no-such-type", "7wdX_4rv_33z", false, false, ""}, // a type the index has not seen
	} {
		st := x.Concept(tc.typ, tc.value, tc.legacy)
		if st.Known != tc.known || st.ID != tc.id || st.Deprecated {
			t.Errorf("Concept(%s, %s, legacy=%v) = %+v, want known=%v id=%s", tc.typ, tc.value, tc.legacy, st, tc.known, tc.id)
		}
	}
	// Deprecating replaces the concept; its ids say so.
	x.Put(Concept{ID: "7wdX_4rv_33z", Type: "occupation-name", Label: "Backend-utvecklare", LegacyID: "7632",
		Deprecated: true, ReplacedBy: []Ref{{ID: "rQds_YGd_quU"}}})
	if st := x.Concept("occupation-name", "7wdX_4rv_33z", false); !st.Known || !st.Deprecated || len(st.ReplacedBy) != 1 || st.ReplacedBy[0] != "rQds_YGd_quU" {
		t.Errorf("deprecated concept: %+v", st)
	}
	if x.Len() != 2 || x.Deprecated() != 1 || !x.MayBeDeprecated("7wdX_4rv_33z") || !x.MayBeDeprecated("7632") || x.MayBeDeprecated("0180") {
		t.Errorf("len %d, deprecated %d; MayBeDeprecated wrong", x.Len(), x.Deprecated())
	}
	// A changed type moves the concept.
	x.Put(Concept{ID: "7wdX_4rv_33z", Type: "skill", Label: "Backend"})
	if x.Concept("occupation-name", "7wdX_4rv_33z", false).Known || !x.Concept("skill", "7wdX_4rv_33z", false).Known ||
		x.Concept("occupation-name", "7632", true).Known || x.Deprecated() != 0 || x.MayBeDeprecated("7632") {
		t.Error("a concept put again with another type must leave its old type")
	}
	if _, ok := x.Types()["occupation-name"]; ok {
		t.Error("a type with no concepts left is dropped")
	}
	if !x.Remove("AvNB_uwa_6n6") || x.Remove("AvNB_uwa_6n6") || x.Concept("municipality", "0180", true).Known || x.Len() != 1 {
		t.Error("Remove must take the concept and its legacy id out, once")
	}
}

// TestLoadFileRealSnapshot loads JobTech's concept file as published: a map
// from concept id to concept.
func TestLoadFileRealSnapshot(t *testing.T) {
	t.Parallel()
	x, err := LoadFile(conceptsFile)
	if err != nil {
		t.Fatal(err)
	}
	types := x.Types()
	if x.Len() != 12496 || types["skill"] != 5514 || types["occupation-name"] != 3262 || types["municipality"] != 290 {
		t.Fatalf("loaded %d concepts: %v", x.Len(), types)
	}
	if st := x.Concept("municipality", "0180", true); st.ID != "AvNB_uwa_6n6" {
		t.Errorf("Stockholm by its legacy id 0180: %+v", st)
	}
	if st := x.Concept("region", "vrDq_rUY_7PX", false); !st.Known {
		t.Errorf("the file's first concept: %+v", st)
	}
}

// TestLoadFileShapes: records (NDJSON), envelopes as `hub read` prints them
// (a tombstone removes), and errors that name the line.
func TestLoadFileShapes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	x, err := LoadFile("../../schemas/taxonomy-concepts/examples/valid/concepts.ndjson")
	if err != nil || x.Len() != 8 {
		t.Fatalf("records: %v, %d concepts", err, x.Len())
	}
	env := write("read.ndjson", `{"id":"hub:af:1","dataset":"taxonomy-concepts","key":"AvNB_uwa_6n6","seq":1,"data":{"id":"AvNB_uwa_6n6","label":"Stockholm","type":"municipality","legacyAmsTaxonomyId":"0180"}}
{"id":"hub:af:2","dataset":"taxonomy-concepts","key":"NVxJ_hLg_TYS","seq":2,"data":{"id":"NVxJ_hLg_TYS","label":"Engelska","type":"language"}}
{"id":"hub:af:3","dataset":"taxonomy-concepts","key":"AvNB_uwa_6n6","seq":3,"tombstone":true,"data":{"id":"AvNB_uwa_6n6","removed":true}}
`)
	if x, err = LoadFile(env); err != nil || x.Len() != 1 || !x.Concept("language", "NVxJ_hLg_TYS", false).Known {
		t.Fatalf("envelopes: %v, %d concepts", err, x.Len())
	}
	bad := write("bad.json", "{\n \"AvNB_uwa_6n6\": {\"label\": \"Stockholm\"}\n}")
	if _, err := LoadFile(bad); err == nil || !strings.Contains(err.Error(), "bad.json:2") || !errors.Is(err, ErrNotConcept) {
		t.Fatalf("a concept without a type: %v", err)
	}
}

// TestFollowerAppliesRecordsInOrder: Load reads what is stored, Run goes on
// after it; a tombstone removes its concept.
func TestFollowerAppliesRecordsInOrder(t *testing.T) {
	t.Parallel()
	rec := func(seq uint64, c Concept) wire.Envelope {
		b, _ := json.Marshal(c)
		return wire.Envelope{Seq: seq, Key: c.ID, Data: b}
	}
	stored := []wire.Envelope{
		rec(1, Concept{ID: "AvNB_uwa_6n6", Type: "municipality", Label: "Stockholm", LegacyID: "0180"}),
		rec(2, Concept{ID: "NVxJ_hLg_TYS", Type: "language", Label: "Engelska"}),
		{Seq: 3, Key: "junk", Data: json.RawMessage(`{"label":"no id"}`)},
	}
	live := make(chan wire.Envelope)
	var mu sync.Mutex
	var asked []uint64
	src := func(ctx context.Context, after uint64, follow bool, fn func(wire.Envelope) error) error {
		mu.Lock()
		asked = append(asked, after)
		mu.Unlock()
		for _, e := range stored {
			if e.Seq > after {
				if err := fn(e); err != nil {
					return err
				}
			}
		}
		for follow {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case e := <-live:
				if err := fn(e); err != nil {
					return err
				}
			}
		}
		return nil
	}
	x := NewIndex()
	f := NewFollower(x, src, nil)
	if err := f.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	if x.Len() != 2 || f.Seq() != 3 {
		t.Fatalf("after Load: %d concepts, seq %d", x.Len(), f.Seq())
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); f.Run(ctx) }()
	live <- rec(4, Concept{ID: "7wdX_4rv_33z", Type: "occupation-name", Label: "Backend-utvecklare"})
	live <- wire.Envelope{Seq: 5, Key: "AvNB_uwa_6n6", Tombstone: true, Data: json.RawMessage(`{"id":"AvNB_uwa_6n6","removed":true}`)}
	live <- rec(6, Concept{ID: "NVxJ_hLg_TYS", Type: "language", Label: "Engelska", Deprecated: true})
	cancel()
	<-done
	if !x.Concept("occupation-name", "7wdX_4rv_33z", false).Known || x.Concept("municipality", "0180", true).Known ||
		!x.Concept("language", "NVxJ_hLg_TYS", false).Deprecated || f.Seq() != 6 {
		t.Errorf("after Run: %v, seq %d", x.Types(), f.Seq())
	}
	mu.Lock()
	defer mu.Unlock()
	if len(asked) != 2 || asked[0] != 0 || asked[1] != 3 {
		t.Errorf("reads started after %v, want [0 3]: Run goes on where Load ended", asked)
	}
}

// TestIndexMemory measures the index of the real snapshot: the heap it
// holds once built (the README states it).
func TestIndexMemory(t *testing.T) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	x, err := LoadFile(conceptsFile)
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	held := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	runtime.KeepAlive(x)
	t.Logf("index of %d concepts holds %.2f MiB (%d bytes per concept)", x.Len(), float64(held)/(1<<20), held/int64(x.Len()))
	if held > 8<<20 {
		t.Errorf("index holds %d bytes, want under 8 MiB", held)
	}
}

// BenchmarkIndexLookup is one lookup against the real snapshot, as the
// x-taxonomy keyword makes it per value, from every core at once.
func BenchmarkIndexLookup(b *testing.B) {
	x, err := LoadFile(conceptsFile)
	if err != nil {
		b.Fatal(err)
	}
	ref := schema.TaxonomyRef{Types: []string{"skill"}}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if v, _ := ref.Judge(x, "11L4_Q2Z_8tM"); v != schema.TaxonomyKnown {
				b.Fatal("unknown")
			}
		}
	})
}

// BenchmarkIndexBuild builds the index of the real snapshot from its
// concepts (the file already decoded), reporting the memory it allocates.
func BenchmarkIndexBuild(b *testing.B) {
	src, err := LoadFile(conceptsFile)
	if err != nil {
		b.Fatal(err)
	}
	var cs []Concept
	for _, t := range src.types {
		for _, e := range t.ids {
			cs = append(cs, Concept{ID: e.id, Type: t.name, LegacyID: e.legacy})
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		x := NewIndex()
		for _, c := range cs {
			x.Put(c)
		}
	}
}

// TestIndexLatestRecordWins: records reach the index from the ingest path
// and from the follower, not always in stream order; the latest wins.
func TestIndexLatestRecordWins(t *testing.T) {
	t.Parallel()
	x := NewIndex()
	old := Concept{ID: "NVxJ_hLg_TYS", Type: "language", Label: "Engelska"}
	dep := old
	dep.Deprecated = true
	x.PutAt(dep, 6)
	x.PutAt(old, 5) // the follower catching up
	if !x.Concept("language", "NVxJ_hLg_TYS", false).Deprecated {
		t.Fatal("an older record replaced a newer one")
	}
	if !x.RemoveAt("NVxJ_hLg_TYS", 8) || x.Len() != 0 {
		t.Fatal("a tombstone removes")
	}
	x.PutAt(dep, 6)
	if x.Len() != 0 || x.RemoveAt("NVxJ_hLg_TYS", 7) {
		t.Fatal("a record older than the tombstone came back")
	}
	x.PutAt(old, 9)
	if !x.Concept("language", "NVxJ_hLg_TYS", false).Known || x.Concept("language", "NVxJ_hLg_TYS", false).Deprecated {
		t.Fatal("a record after the tombstone puts the concept back")
	}
	x.Put(dep) // from a file: always applies
	if !x.Concept("language", "NVxJ_hLg_TYS", false).Deprecated {
		t.Fatal("Put applies whatever the sequence")
	}
}
