package sidecar_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/jobtech-dev/datahub/connector-kit/kit"
	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/internal/publish"
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
func (h *hubIngest) rate(b *testing.B, t adTemplate, count int) float64 {
	b.Helper()
	ctx := context.Background()
	futs := make(chan *publish.Future, 2048)
	errc := make(chan error, 1)
	start := time.Now()
	go func() {
		defer close(errc)
		for f := range futs {
			if r, err := f.Result(ctx); err != nil || r.Status != wire.StatusStored {
				errc <- fmt.Errorf("record not stored: %+v %v", r, err)
				for range futs {
				}
				return
			}
		}
	}()
	for range count {
		h.seq++
		f, err := h.pub.Send(ctx, "jobads", t.with(-int64(h.seq)), "hub-ingest-"+strconv.Itoa(h.seq))
		if err != nil {
			b.Fatal(err)
		}
		futs <- f
	}
	close(futs)
	if err := <-errc; err != nil {
		b.Fatal(err)
	}
	return float64(count) / time.Since(start).Seconds()
}
