package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// cleanups is the one stack of what a start started, each with the way to
// stop it, pushed as each piece starts. Shutdown unwinds it from the top,
// and so does a start that fails half-way: it stops exactly what it
// started, and the shutdown order is the reverse of the start order by
// construction (it is written once, in Start).
type cleanups struct {
	log   *slog.Logger
	mu    sync.Mutex
	steps []cleanup
}

type cleanup struct {
	name string
	stop func(ctx context.Context) error
}

// push records that name has started and how to stop it. The debug log
// "started" and, at unwind, "stopped" name each step, so the order can be
// read from a hub's log.
func (c *cleanups) push(name string, stop func(ctx context.Context) error) {
	c.mu.Lock()
	c.steps = append(c.steps, cleanup{name: name, stop: stop})
	c.mu.Unlock()
	c.log.Debug("started", "step", name)
}

// pushFunc is push for a stop that cannot fail and takes no context: the
// unwind waits for it until ctx ends (and stopGrace more), then goes on:
// the stop is left to finish on its own, and the step reported as not
// stopped in time.
func (c *cleanups) pushFunc(name string, stop func()) {
	c.push(name, func(ctx context.Context) error {
		done := make(chan struct{})
		go func() { defer close(done); stop() }()
		select {
		case <-done:
			return nil
		case <-ctx.Done():
		}
		// A step after one that took the whole bound still gets a
		// moment: most stop at once.
		select {
		case <-done:
			return nil
		case <-time.After(stopGrace):
			return fmt.Errorf("not stopped in time: %w", ctx.Err())
		}
	})
}

// stopGrace is how long a step waits for its stop once the unwind's
// context has ended.
const stopGrace = 250 * time.Millisecond

// unwind stops every step, the last pushed first, and returns their errors
// joined, each naming its step. Every step runs even when ctx has ended (a
// step bounds its own waits by ctx); a second unwind finds nothing to stop.
func (c *cleanups) unwind(ctx context.Context) error {
	var errs []error
	for {
		c.mu.Lock()
		if len(c.steps) == 0 {
			c.mu.Unlock()
			return errors.Join(errs...)
		}
		s := c.steps[len(c.steps)-1]
		c.steps = c.steps[:len(c.steps)-1]
		c.mu.Unlock()
		if err := s.stop(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stop %s: %w", s.name, err))
		}
		c.log.Debug("stopped", "step", s.name)
	}
}
