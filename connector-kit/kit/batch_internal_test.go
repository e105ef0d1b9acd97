package kit

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jobtech-dev/datahub/connector-kit/kittest"
)

// A kit that does not know the server's max payload yet (its connection
// came up late and the callback has not run) may put an oversized record in
// one batch request with others: the request is refused whole, and then
// each record goes alone, so only the oversized one is ErrTooLarge.
func TestBatchOverMaxPayloadGoesRecordByRecord(t *testing.T) {
	t.Parallel()
	h := kittest.Start(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := Dial(ctx, h.NATSURL(), h.Actor("arbetsformedlingen"), WithLocalValidation(false))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.maxPayload.Store(64 << 20) // as if not known yet: the kit's default is larger than the server's
	ad, err := os.ReadFile(filepath.Join(kittest.RepoRoot(), "schemas", "jobads", "examples", "valid", "small-ad.json"))
	if err != nil {
		t.Fatal(err)
	}
	ad = bytes.TrimSpace(ad)
	big := append(append([]byte(`{"id":"big","pad":"`), bytes.Repeat([]byte("x"), 2<<20)...), `"}`...)
	res, err := c.PublishBatch(ctx, "jobads", []BatchRecord{{ID: "a", Data: ad}, {ID: "big", Data: big}, {ID: "b", Data: bytes.Replace(ad, []byte(`"id":"23187561"`), []byte(`"id":"other"`), 1)}})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Err != nil || res[2].Err != nil || res[0].Seq == 0 || res[2].Seq <= res[0].Seq || !errors.Is(res[1].Err, ErrTooLarge) {
		t.Fatalf("results %+v, want the small records stored and the big one ErrTooLarge", res)
	}
}
