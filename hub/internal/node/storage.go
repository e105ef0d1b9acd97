package node

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jobtech-dev/datahub/hub/internal/natsd"
	"github.com/jobtech-dev/datahub/internal/fds"
)

// storageWatch keeps JetStream's storage serving. A stream whose files could
// not be written (a flood of connections took every file descriptor, the
// disk filled) is refused every write by nats-server until it is loaded
// again. The watch finds that, makes the hub not ready with the reason, and
// once file descriptors are free again reloads the streams itself, backing
// off while the cause persists: no restart needed.
type storageWatch struct {
	n     *Node
	every time.Duration

	mu      sync.Mutex
	failure error // the storage failure not yet recovered, nil when none
}

// minFreeFDs is how many free descriptors a reload needs before it is
// tried: it reopens every stream's files.
func minFreeFDs(limit int) int { return max(64, limit/8) }

func (w *storageWatch) err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.failure
}

func (w *storageWatch) set(err error) {
	w.mu.Lock()
	w.failure = err
	w.mu.Unlock()
}

func (w *storageWatch) run(ctx context.Context) {
	log := w.n.log.With("component", "storage")
	t := time.NewTicker(w.every)
	defer t.Stop()
	// backoff spaces reloads while the failure keeps coming back (a full
	// disk); it is forgotten after a minute of health.
	var backoff time.Duration
	var nextTry, lastReload time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := w.n.nats.StorageHealth()
		if err == nil {
			if w.err() != nil {
				log.Info("jetstream storage healthy again")
			}
			w.set(nil)
			if time.Since(lastReload) > time.Minute {
				backoff = 0
			}
			continue
		}
		if w.err() == nil {
			log.Error("jetstream storage failed: the hub is not ready until it recovers", "err", err)
		}
		w.set(err)
		if w.n.nats.Clustered() {
			// No reload under replicated streams (natsd.RecoverStorage):
			// the node stays not ready and says how to recover.
			w.set(fmt.Errorf("%w; %v", err, natsd.ErrReloadClustered))
			continue
		}
		if time.Now().Before(nextTry) {
			continue
		}
		if u, ferr := fds.Now(); ferr == nil && u.Limit > 0 && u.Free() < minFreeFDs(u.Limit) {
			w.set(fmt.Errorf("%w; waiting for free file descriptors to reload the streams (%s)", err, u))
			continue
		} else if ferr != nil && !errors.Is(ferr, fds.ErrUnknown) {
			w.set(fmt.Errorf("%w; waiting for free file descriptors to reload the streams: %v", err, ferr))
			continue
		}
		log.Warn("reloading jetstream streams from disk to clear the storage failure", "err", err)
		start := time.Now()
		lastReload = start
		backoff = min(max(2*backoff, w.every), time.Minute)
		nextTry = start.Add(backoff)
		if rerr := w.n.nats.RecoverStorage(); rerr != nil {
			log.Error("jetstream storage reload did not clear the failure", "err", rerr, "next_try_in", backoff)
			w.set(fmt.Errorf("%w; reload did not clear it, next try in %s: %v", err, backoff, rerr))
			continue
		}
		// Publishes sent to a failed stream are never answered: end them
		// now ("not stored, retry") instead of after the publish timeout,
		// as the ingest path answers its publishers in order.
		w.n.js.CleanupPublisher()
		log.Warn("jetstream storage recovered: streams reloaded from disk", "took", time.Since(start).Round(time.Millisecond))
		w.set(nil)
	}
}
