package sidecar_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/jobtech-dev/datahub/connector-kit/kit"
	"github.com/jobtech-dev/datahub/internal/publish"
	"github.com/jobtech-dev/datahub/internal/publish/publishtest"
)

// hubIngest publishes straight to the hub, as BenchmarkIngest's hub side
// does: one record a request, 1024 in flight, an answer awaited for each.
// It gives the sidecar's rate something to be compared with in the same
// run, on the same hub and machine.
type hubIngest struct {
	pub *publish.Publisher
	seq int
}

func newHubIngest(b *testing.B, url, creds, actor string) *hubIngest {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := kit.Dial(ctx, url, creds)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = c.Close() })
	pub, err := publish.New(c.Conn(), actor, publish.WithWindow(1024))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = pub.Close() })
	return &hubIngest{pub: pub}
}

// rate stores count copies of t (ids of their own, unlike the sidecar's)
// and returns records/s.
func (h *hubIngest) rate(b *testing.B, t publishtest.Template, count int) float64 {
	b.Helper()
	start := time.Now()
	first := h.seq
	h.seq += count
	if err := publishtest.StoreAll(context.Background(), h.pub, "jobads", count, func(i int) ([]byte, string) {
		n := first + i + 1
		return t.With("", -int64(n)), "hub-ingest-" + strconv.Itoa(n)
	}); err != nil {
		b.Fatal(err)
	}
	return float64(count) / time.Since(start).Seconds()
}
