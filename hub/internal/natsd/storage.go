package natsd

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/nats-io/nats-server/v2/server"
)

// ErrStorage marks a JetStream storage failure found by StorageHealth.
var ErrStorage = errors.New("jetstream storage failed")

// ErrReloadClustered is RecoverStorage's answer on a cluster node: its
// streams are not reloaded in place; the node is restarted instead and
// catches up from the other nodes' copies.
var ErrReloadClustered = errors.New("a cluster node does not reload its streams in place: restart the node once the cause is gone (it catches up from the other nodes)")

// StorageHealth reports JetStream's storage failures, nil when there are
// none. The one that matters most: when a stream's files cannot be written
// (too many open files, a full disk), nats-server marks the stream with the
// write error and from then on refuses every write to it, answering none,
// until the stream is loaded again; nothing else clears the mark. The error
// names each failed stream and wraps ErrStorage.
//
// The server's health check sees a failed stream only once a write to the
// stream itself failed, and cannot list the streams at all while the
// descriptor table is full; so the write errors the server logs count too
// (a stream's file store fails first, often in a background sync, and
// refuses every write from then on).
//
// On a cluster node only those logged write errors count: the server's
// health check there also fails while a stream's copy catches up with its
// leader or the cluster has no quorum, which is the cluster's state (see
// Cluster), not a failed store.
func (s *Server) StorageHealth() error {
	var msgs []string
	if f := s.faults.first(); f != "" {
		msgs = append(msgs, f)
	}
	if s.clustered {
		if len(msgs) == 0 {
			return nil
		}
		return fmt.Errorf("%w: %s", ErrStorage, strings.Join(msgs, "; "))
	}
	h := s.ns.Healthz(&server.HealthzOptions{Details: true})
	if h.StatusCode != 0 && h.StatusCode != 200 {
		for _, e := range h.Errors {
			msgs = append(msgs, e.Error)
		}
		if len(h.Errors) == 0 && h.Error != "" {
			msgs = append(msgs, h.Error)
		}
	}
	if len(msgs) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s", ErrStorage, strings.Join(msgs, "; "))
}

// storageFaults remembers the first storage write error the server logged
// since the streams were last reloaded.
type storageFaults struct {
	mu  sync.Mutex
	msg string
}

func (f *storageFaults) note(msg string) {
	f.mu.Lock()
	if f.msg == "" {
		f.msg = msg
	}
	f.mu.Unlock()
}

func (f *storageFaults) first() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.msg
}

func (f *storageFaults) clear() {
	f.mu.Lock()
	f.msg = ""
	f.mu.Unlock()
}

// RecoverStorage reloads every stream from its files, which clears a write
// error once its cause is gone: it stops JetStream for the hub's account and
// starts it again (nats-server has no way to reload a single stream).
// Streams, consumers and key-value buckets come back from disk; clients see
// JetStream unavailable for the moment it takes, and ordered consumers
// (reads) recreate themselves. It returns StorageHealth afterwards.
//
// A cluster node refuses (ErrReloadClustered): stopping JetStream under
// its replicated streams takes their RAFT groups away from this node.
func (s *Server) RecoverStorage() error {
	if s.clustered {
		return ErrReloadClustered
	}
	s.faults.clear() // a failure while reloading is noted again
	acc := s.ns.GlobalAccount()
	if err := acc.DisableJetStream(); err != nil {
		return fmt.Errorf("stop jetstream to reload its streams: %w", err)
	}
	if err := acc.EnableJetStream(nil, nil); err != nil {
		return fmt.Errorf("start jetstream again: %w", err)
	}
	return s.StorageHealth()
}
