package node

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Bounds of a start step's retries (see retry).
const (
	attemptTimeout = 3 * time.Second
	stepTimeout    = 2 * time.Minute
)

// retry runs step until it succeeds, retrying what a cluster answers while
// it settles: a JetStream request nobody answered (a stream whose leader is
// being elected, a create that crosses another node's), "temporarily
// unavailable" and "no suitable peers" while nodes join. Each attempt gets
// attemptTimeout; the step gives up after stepTimeout or when ctx ends, with
// the last error. Any other error ends it at once.
//
// A single hub has nothing to wait for: its step runs once, under ctx alone
// (a per-attempt bound would only cut a slow start short, as reading a
// damaged bucket is).
//
// The debug log "start step" says how long each step took, so a slow start
// can be read from a hub's log (`--log-level debug`).
func (n *Node) retry(ctx context.Context, what string, step func(ctx context.Context) error) error {
	began := time.Now()
	defer func() { n.log.Debug("start step", "step", what, "took", time.Since(began).Round(time.Millisecond)) }()
	if !n.cfg.Clustered() {
		return step(ctx)
	}
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, attemptTimeout)
		err := step(actx)
		cancel()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil || !transient(err) || time.Since(began) > stepTimeout {
			return err
		}
		n.log.Debug("start step retried", "step", what, "attempt", attempt, "err", err)
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w", what, ctx.Err())
		case <-time.After(min(time.Duration(attempt)*200*time.Millisecond, 2*time.Second)):
		}
	}
}

// transient reports whether err may go away by itself in a cluster.
func transient(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) || errors.Is(err, nats.ErrNoResponders) ||
		errors.Is(err, jetstream.ErrNoStreamResponse) || errors.Is(err, jetstream.ErrJetStreamNotEnabled) {
		return true
	}
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode {
		case 10004, 10005, 10008, 10009, 10023: // incomplete, no peers, unavailable, cannot handle now, insufficient resources
			return true
		}
		return apiErr.Code == 503
	}
	return false
}
