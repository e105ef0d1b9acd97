package kit_test

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/jobtech-dev/datahub/connector-kit/kit"
	"github.com/jobtech-dev/datahub/connector-kit/kittest"
)

// TestPublishBatchSplitsIntoRequests: a batch larger than a request (and
// than a small window) goes in several batch requests, a record too large
// to share one goes alone, and every result lands on its own record: the
// hub's refusal, the retry's duplicate, the oversized record's ErrTooLarge,
// and the stored ones in order.
func TestPublishBatchSplitsIntoRequests(t *testing.T) {
	t.Parallel()
	h := kittest.Start(t, "")
	c, err := kit.Dial(ctxT(t), h.NATSURL(), h.Actor("arbetsformedlingen"), kit.WithWindow(100), kit.WithLocalValidation(false))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ad := smallAd(t)
	const total, bad, retry, big = 300, 150, 260, 201
	recs := make([]kit.BatchRecord, total)
	for i := range recs {
		data := bytes.Replace(ad, []byte(`"id":"23187561"`), []byte(fmt.Sprintf(`"id":"split-%d"`, i)), 1)
		recs[i] = kit.BatchRecord{ID: fmt.Sprintf("r-%d", i), Data: data}
	}
	recs[bad].Data = bytes.Replace(recs[bad].Data, []byte(`"headline":"Java-utvecklare"`), []byte(`"headline":1`), 1)
	recs[retry] = recs[5]
	recs[big].Data = append(append([]byte(`{"id":"big","pad":"`), bytes.Repeat([]byte("x"), 2<<20)...), `"}`...)
	res, err := c.PublishBatch(ctxT(t), "jobads", recs)
	if err != nil || len(res) != total {
		t.Fatalf("%d results, %v", len(res), err)
	}
	var ve *kit.ValidationError
	if !errors.As(res[bad].Err, &ve) {
		t.Errorf("record %d (headline a number): %+v, want a validation error", bad, res[bad])
	}
	if !errors.Is(res[big].Err, kit.ErrTooLarge) {
		t.Errorf("record %d (2 MiB): %+v, want ErrTooLarge", big, res[big])
	}
	if r := res[retry]; r.Err != nil || !r.Duplicate || r.Seq != res[5].Seq || r.ID != "r-5" {
		t.Errorf("record %d (a retry of record 5): %+v, want a duplicate of %+v", retry, r, res[5])
	}
	var last uint64
	for i, r := range res {
		if i == bad || i == big || i == retry {
			continue
		}
		if r.Err != nil || r.Duplicate || r.ID != fmt.Sprintf("r-%d", i) || r.Seq <= last {
			t.Fatalf("record %d: %+v after seq %d, want stored in order", i, r, last)
		}
		last = r.Seq
	}
	if n := len(h.Records("jobads")); n != total-3 {
		t.Fatalf("%d records stored, want %d", n, total-3)
	}
}
