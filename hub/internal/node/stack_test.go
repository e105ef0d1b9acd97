package node

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestUnwindIsBoundedAndStopsTheRest: a piece that does not stop does not
// hold the shutdown past its context (and a short grace), and the pieces
// started before it are still stopped, in reverse order.
func TestUnwindIsBoundedAndStopsTheRest(t *testing.T) {
	t.Parallel()
	c := cleanups{log: slog.New(slog.DiscardHandler)}
	var mu sync.Mutex
	var stopped []string
	stop := func(name string) func() {
		return func() { mu.Lock(); stopped = append(stopped, name); mu.Unlock() }
	}
	hang := make(chan struct{})
	defer close(hang)
	c.pushFunc("first", stop("first"))
	c.pushFunc("second", stop("second"))
	c.pushFunc("stuck", func() { <-hang })
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	began := time.Now()
	err := c.unwind(ctx)
	if took := time.Since(began); took > 5*time.Second {
		t.Fatalf("unwind took %s past its context", took)
	}
	if err == nil || !strings.Contains(err.Error(), "stop stuck") || strings.Contains(err.Error(), "stop first") {
		t.Fatalf("unwind: %v, want the stuck step named, and only it", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if want := []string{"second", "first"}; !slices.Equal(stopped, want) {
		t.Fatalf("stopped %v, want %v", stopped, want)
	}
	if err := c.unwind(t.Context()); err != nil {
		t.Fatalf("second unwind: %v, want nothing left to stop", err)
	}
}
