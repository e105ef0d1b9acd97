package datasets_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jobtech-dev/datahub/connector-kit/kit"
	"github.com/jobtech-dev/datahub/hub/internal/datasets"
	"github.com/jobtech-dev/datahub/hub/internal/hubtest"
)

// An apply that changes a dataset while an actor publishes to it — its
// stream's limits, a new schema version, and a new dataset, which cuts the
// actor's connection so it gains the new dataset's rights — loses no
// record: every record the actor sent is stored exactly once (a record
// whose answer was lost with the connection is sent again under its id, as
// the kit and the sidecar do).
func TestApplyUnderPublishLoadLosesNothing(t *testing.T) {
	t.Parallel()
	n := hubtest.StartNew(t)
	c := newClient(t, n)
	actor := hubtest.NewActor(t, "jobbland") // the policies let it publish job ads
	if _, err := n.Access().CreateActor(t.Context(), actor.Name, actor.PublicKey(), "test"); err != nil {
		t.Fatal(err)
	}
	kc, err := kit.DialKey(t.Context(), n.NATSURL(), actor.Name, actor.PublicKey(), actor.Key.Sign, kit.WithTimeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	var ad map[string]any
	if err := json.Unmarshal(hubtest.ReadFile(t, hubtest.SchemasDir()+"/jobads/examples/valid/small-ad.json"), &ad); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	var sent, retries atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var pubErr atomic.Pointer[error]
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			ad["id"] = fmt.Sprintf("load-%d", i)
			b, _ := json.Marshal(ad)
			for {
				_, err := kc.Publish(ctx, "jobads", b, kit.WithRecordID(fmt.Sprintf("rec-%d", i)))
				if err == nil {
					break
				}
				if !errors.Is(err, kit.ErrHubUnreachable) && !errors.Is(err, kit.ErrUnavailable) || ctx.Err() != nil {
					err = fmt.Errorf("record %d: %w", i, err)
					pubErr.Store(&err)
					return
				}
				if retries.Add(1) < 5 || retries.Load()%500 == 0 {
					t.Logf("retry %d: %v", i, err)
				}
			}
			sent.Add(1)
		}
	})
	waitFor := func(n int64) {
		for sent.Load() < n && ctx.Err() == nil && pubErr.Load() == nil {
			time.Sleep(time.Millisecond)
		}
	}
	waitFor(200)
	dir := withGigs(t)
	decl := string(hubtest.ReadFile(t, dir+"/jobads/dataset.yaml"))
	writeFile(t, dir+"/jobads/dataset.yaml", strings.NewReplacer("title: Job ads", "title: Job ads (all boards)", "dedupe_window: 1h", "dedupe_window: 2h", "schema_version: 1", "schema_version: 2").Replace(decl))
	schema := string(hubtest.ReadFile(t, dir+"/jobads/jobad.schema.json"))
	writeFile(t, dir+"/jobads/jobad.schema.json", strings.Replace(schema, `"title": "Job ad"`, `"title": "Job ad (JobTech model)"`, 1))
	before := sent.Load()
	res := c.applyOK(dir, false)
	during := sent.Load() - before
	waitFor(sent.Load() + 200)
	close(stop)
	wg.Wait()
	if err := pubErr.Load(); err != nil {
		t.Fatal(*err)
	}
	if res.Count(datasets.ActionAdded) != 1 || res.Count(datasets.ActionChanged) != 1 {
		t.Fatalf("apply: %+v", res)
	}
	for _, ch := range res.Datasets {
		if ch.Dataset == "jobads" && (ch.Version != 2 || strings.Join(ch.Fields, ",") != "title,dedupe_window") {
			t.Fatalf("jobads: %+v", ch)
		}
	}
	st, err := n.JetStream().Stream(t.Context(), "DS_jobads")
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != uint64(sent.Load()) || info.Config.Duplicates != 2*time.Hour {
		t.Fatalf("sent %d records, the stream holds %d (dedupe window %s)", sent.Load(), info.State.Msgs, info.Config.Duplicates)
	}
	recs := c.records("jobads")
	last := recs[len(recs)-1]
	if last.SchemaVersion != 2 || recs[0].SchemaVersion != 1 {
		t.Fatalf("schema versions: first %d, last %d", recs[0].SchemaVersion, last.SchemaVersion)
	}
	t.Logf("%d records, %d sent during the apply, %d resent after a lost answer, %d connections cut", sent.Load(), during, retries.Load(), res.Recut)
}
