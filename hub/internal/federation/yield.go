package federation

import (
	"context"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// Links yield to local publishers. What a link takes goes through the same
// ingest as the hub's own publishers' records (and, on one machine, the
// giving hub's delivery of it costs CPU too), so a catch-up after a cut,
// taken at full speed, would starve them. A fixed rate cannot fix that for
// every machine: what leaves local publishers their share depends on the
// machine and its load. So the links that yield (all of them unless
// --no-yield) share one bound that follows local load, set four times a
// second by a control law on the hub's own signal: how long its
// publishers' records wait in this node's ingest, from arrival to answer
// (ingest.Service.LocalLoad). A publisher that waits for its answers
// before it sends more (as the kit and the sidecar do) publishes at a rate
// that falls as that wait grows, so keeping the wait near what it is
// without the links keeps the publishers' rate.
//
// The law, per tick (yieldTick), on the publishers' mean wait in the tick,
// smoothed (yieldSmooth) because a shared machine makes single ticks noisy:
//   - idle: fewer than yieldMinLocal publishers' records answered for
//     yieldIdleTicks ticks in a row: no bound (the links run up to their
//     --rate). A single such tick holds the bound: publishers stalled
//     behind a catch-up (a batch answered in more than a tick) are not
//     idle;
//   - the base is the publishers' wait while the links take at most
//     yieldMinRate records a second: averaged (yieldSmooth) over such
//     ticks. When the links are busy and the base is older than
//     yieldBaseAge (or there is none), the bound drops to yieldMinRate
//     for yieldSlowTicks ticks: one for the records already in ingest to
//     pass, then the mean of the others is the base;
//   - congested: the smoothed wait (the tick's own during a slow start,
//     whose doublings would overshoot while the smoothed wait lags) is
//     above yieldTarget times the base:
//     the bound becomes yieldDecrease times what the links took (never
//     below yieldMinRate), which is the new end of the slow start; the
//     bound then holds for yieldHold ticks, while the smoothed wait
//     catches up with the cut;
//   - otherwise the bound grows: doubling below the end of the slow start
//     (from yieldMinRate when the publishers became busy or after a
//     measure), then by an eighth (at least yieldMinRate) a tick; never
//     above twice what the links took, so a bound nobody uses does not
//     grow without end.
//
// Records a link takes wait for the bound before they go to ingest, not
// at the peer: a link that yields keeps a window of yieldWindow records in
// flight, which pass even the lowest bound well within the ack wait.

const (
	// yieldTick is how often the bound is set.
	yieldTick = 250 * time.Millisecond
	// yieldMinLocal is how many publishers' records a tick must see for
	// the hub to count as busy (40 a second): below it there is no wait
	// to keep and the links run unbounded.
	yieldMinLocal = 10
	// yieldIdleTicks is how many such ticks in a row make the hub idle.
	yieldIdleTicks = 4
	// yieldMinRate is the lowest bound, records a second: a catch-up
	// always moves on.
	yieldMinRate = 100.0
	// yieldTarget is how much longer than the base the publishers' mean
	// wait may grow before the links slow down.
	yieldTarget = 1.3
	// yieldDecrease is what a congested tick keeps of the links' rate.
	yieldDecrease = 0.7
	// yieldSmooth is the weight of a new tick in the smoothed wait and
	// in the base.
	yieldSmooth = 0.3
	// yieldHold is how many ticks the bound holds after a cut.
	yieldHold = 2
	// yieldBaseAge is how long a measured base holds.
	yieldBaseAge = 15 * time.Second
	// yieldSlowTicks is how long a measure of the base lasts.
	yieldSlowTicks = 3
	// yieldWindow is the records a yielding link may hold delivered and
	// not yet acked: at yieldMinRate they pass in about 5 s, half the
	// least ack wait.
	yieldWindow = 512
)

// yieldSample is what a tick saw.
type yieldSample struct {
	// dt is the tick's length.
	dt time.Duration
	// local is how many publishers' records ingest answered in it, wait
	// their summed time from arrival to answer.
	local uint64
	wait  time.Duration
	// taken is how many records the yielding links took in it.
	taken uint64
}

// yieldControl is the control law: step is told what each tick saw and
// returns the bound for the next one. It is pure (no clock, no I/O), so a
// test drives it with made-up ticks.
type yieldControl struct {
	// bound is the records a second the links may take; 0 is none.
	bound float64
	// threshold is where the slow start ends.
	threshold float64
	// wait is the publishers' smoothed mean wait (0: none yet).
	wait time.Duration
	// base is their wait with the links quiet; baseAt when it was last
	// measured (zero: never).
	base   time.Duration
	baseAt time.Time
	// slow counts the ticks left of a measure of the base, measured the
	// waits summed in it so far.
	slow     int
	measured []time.Duration
	// hold counts the ticks the bound holds after a cut.
	hold int
	// idle counts the ticks in a row without publishers.
	idle int
}

// smooth moves from toward to by yieldSmooth (to itself when from is 0).
func smooth(from, to time.Duration) time.Duration {
	if from == 0 {
		return to
	}
	return from + time.Duration(yieldSmooth*float64(to-from))
}

// step takes the tick that ended at now and returns the bound for the next
// one, in records a second (0: none).
func (c *yieldControl) step(now time.Time, s yieldSample) float64 {
	if s.local < yieldMinLocal || s.dt <= 0 {
		if c.idle++; c.idle < yieldIdleTicks {
			return c.bound // stalled, or idle: not known yet
		}
		// Idle: nothing to protect. The next busy tick starts slow.
		*c = yieldControl{base: c.base, baseAt: c.baseAt, idle: c.idle}
		return 0
	}
	c.idle = 0
	taken := float64(s.taken) / s.dt.Seconds()
	wait := s.wait / time.Duration(s.local)
	c.wait = smooth(c.wait, wait)
	if c.slow > 0 {
		c.slow--
		if c.slow < yieldSlowTicks-1 {
			c.measured = append(c.measured, wait)
		}
		if c.slow > 0 {
			return c.bound
		}
		var sum time.Duration
		for _, w := range c.measured {
			sum += w
		}
		c.base, c.baseAt, c.measured = sum/time.Duration(len(c.measured)), now, nil
		c.wait, c.bound = c.base, yieldMinRate
		return c.bound
	}
	switch {
	case taken <= yieldMinRate:
		// The links take next to nothing: this is the wait without them.
		c.base, c.baseAt = smooth(c.base, wait), now
	case c.base == 0 || now.Sub(c.baseAt) > yieldBaseAge:
		// Measure the base again, keeping where the slow start stops.
		c.threshold = max(yieldMinRate, yieldDecrease*c.used(taken))
		c.bound, c.slow, c.hold = yieldMinRate, yieldSlowTicks, 0
		return c.bound
	}
	if c.bound == 0 {
		// Publishers just became busy: start slow.
		c.bound, c.threshold = yieldMinRate, math.Inf(1)
		return c.bound
	}
	if c.hold > 0 {
		c.hold--
		return c.bound
	}
	w := c.wait
	if c.bound < c.threshold {
		w = wait // in a slow start the bound doubles: react at once
	}
	if float64(w) > yieldTarget*float64(c.base) {
		c.bound = max(yieldMinRate, yieldDecrease*c.used(taken))
		c.threshold, c.hold = c.bound, yieldHold
		return c.bound
	}
	if c.bound < c.threshold {
		c.bound *= 2
	} else {
		c.bound += max(yieldMinRate, c.bound/8)
	}
	c.bound = min(c.bound, max(2*taken, 2*yieldMinRate))
	return c.bound
}

// used is the rate the links ran at: what they took, or the bound when
// they took more (a burst).
func (c *yieldControl) used(taken float64) float64 {
	if c.bound > 0 {
		return min(c.bound, taken)
	}
	return taken
}

// yielder applies the control law to this node's links: one bound shared
// by every link that yields.
type yielder struct {
	// load reads the local signal (ingest.Service.LocalLoad); nil: the
	// links never yield.
	load  func() (records uint64, wait time.Duration)
	lim   *rate.Limiter
	taken atomic.Uint64

	mu    sync.Mutex
	ctl   yieldControl
	bound float64
}

func newYielder(load func() (uint64, time.Duration)) *yielder {
	return &yielder{load: load, lim: rate.NewLimiter(rate.Inf, 1)}
}

// wait holds a record of a yielding link until the bound lets it pass.
func (y *yielder) wait(ctx context.Context) error {
	if err := y.lim.Wait(ctx); err != nil {
		return err
	}
	y.taken.Add(1)
	return nil
}

// current is the bound now, records a second (0: none).
func (y *yielder) current() float64 {
	y.mu.Lock()
	defer y.mu.Unlock()
	return y.bound
}

// run sets the bound every tick until ctx ends.
func (y *yielder) run(ctx context.Context) {
	if y.load == nil {
		return
	}
	t := time.NewTicker(yieldTick)
	defer t.Stop()
	last := time.Now()
	lastN, lastWait := y.load()
	lastTaken := y.taken.Load()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			n, w := y.load()
			tk := y.taken.Load()
			s := yieldSample{dt: now.Sub(last), local: n - lastN, wait: w - lastWait, taken: tk - lastTaken}
			last, lastN, lastWait, lastTaken = now, n, w, tk
			y.set(y.step(now, s))
		}
	}
}

func (y *yielder) step(now time.Time, s yieldSample) float64 {
	y.mu.Lock()
	defer y.mu.Unlock()
	y.bound = y.ctl.step(now, s)
	return y.bound
}

// set puts bound (records a second, 0: none) on the limiter, with a burst
// of 20 ms of it.
func (y *yielder) set(bound float64) {
	if bound <= 0 {
		y.lim.SetLimit(rate.Inf)
		return
	}
	y.lim.SetBurst(max(1, int(bound/50)))
	y.lim.SetLimit(rate.Limit(bound))
}
