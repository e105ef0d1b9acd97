package federation

import (
	"math/rand/v2"
	"testing"
	"time"
)

// machine is a made-up hub for the control law: both hubs on one
// machine, whose work is shared between the publishers' records and the
// federated ones, each of which costs as much as cost publishers' records
// (ingest here, delivery on the giving hub). The publishers wait for their
// answers (closed loop), so their wait grows as their rate falls. noise,
// when set, scales each tick's wait (other work on the machine).
type machine struct {
	base  time.Duration // the publishers' wait without the link
	alone float64       // their rate without the link, records a second
	cost  float64       // a federated record's work, in publishers' records
	noise func() float64
}

// tick runs one tick at bound (0: none) and returns what it saw and the
// publishers' rate.
func (m *machine) tick(bound float64) (yieldSample, float64) {
	taken := 0.95 * m.alone / m.cost // a link unbounded takes nearly all
	if bound > 0 {
		taken = min(taken, bound)
	}
	rate := m.alone - m.cost*taken
	wait := float64(m.base) * m.alone / rate
	if m.noise != nil {
		wait *= m.noise()
	}
	n := uint64(rate * yieldTick.Seconds())
	return yieldSample{dt: yieldTick, local: n, wait: time.Duration(n) * time.Duration(wait), taken: uint64(taken * yieldTick.Seconds())}, rate
}

// run drives c over m for ticks and returns the bounds and the publishers'
// rates, tick by tick.
func run(c *yieldControl, m *machine, start time.Time, ticks int) (bounds, rates []float64) {
	bound := 0.0
	now := start
	for range ticks {
		s, r := m.tick(bound)
		now = now.Add(yieldTick)
		bound = c.step(now, s)
		bounds, rates = append(bounds, bound), append(rates, r)
	}
	return bounds, rates
}

func mean(xs []float64) float64 {
	t := 0.0
	for _, x := range xs {
		t += x
	}
	return t / float64(len(xs))
}

// TestYieldKeepsPublishersTheirRate: against busy publishers, the bound
// settles where their rate stays above 0.7 of what it is alone (0.72
// without noise: the target, 1.3 times the wait, is 0.77 on this machine), whatever
// a federated record costs, also when each tick's wait is off by up to a
// quarter; and the link still takes a fair part of what the target
// leaves it.
func TestYieldKeepsPublishersTheirRate(t *testing.T) {
	for _, noisy := range []bool{false, true} {
		for _, cost := range []float64{0.5, 2, 5} {
			m := &machine{base: 10 * time.Millisecond, alone: 8000, cost: cost}
			keep, share := 0.72, 0.5
			if noisy {
				r := rand.New(rand.NewPCG(1, uint64(cost*10)))
				m.noise = func() float64 { return 0.75 + 0.5*r.Float64() }
				keep, share = 0.7, 0.3
			}
			var c yieldControl
			bounds, rates := run(&c, m, time.Unix(0, 0), 480) // two minutes
			if got := mean(rates[20:]) / m.alone; got < keep {
				t.Errorf("cost %.1f, noisy %v: publishers keep %.2f of their rate, want at least %.2f (bounds %.0f)", cost, noisy, got, keep, bounds[:40])
			}
			for i, b := range bounds {
				if b < yieldMinRate {
					t.Fatalf("cost %.1f, noisy %v: tick %d bound %.0f: below the least, or none while publishers are busy", cost, noisy, i, b)
				}
			}
			// The target leaves the link what takes the publishers' rate
			// to alone/yieldTarget.
			room := m.alone * (1 - 1/yieldTarget) / cost
			if got := mean(bounds[20:]); got < share*room {
				t.Errorf("cost %.1f, noisy %v: the link takes %.0f/s on average, less than %.1f of the %.0f/s the target leaves it (bounds %.0f)", cost, noisy, got, share, room, bounds[:80])
			}
		}
	}
}

// busy is a tick of busy publishers whose mean wait is wait, the links
// having taken taken records a second.
func busy(wait time.Duration, taken float64) yieldSample {
	return yieldSample{dt: yieldTick, local: 1000, wait: 1000 * wait, taken: uint64(taken * yieldTick.Seconds())}
}

// TestYieldUnboundedWhileIdle: no publishers, no bound; publishers coming
// start a slow start from the least bound; a lasting longer wait cuts the
// bound to 0.7 of what the links took, which then holds; a tick without
// publishers holds it; publishers gone for a second, no bound.
func TestYieldUnboundedWhileIdle(t *testing.T) {
	var c yieldControl
	now := time.Unix(0, 0)
	tick := func(s yieldSample) float64 { now = now.Add(yieldTick); return c.step(now, s) }
	idle := yieldSample{dt: yieldTick, local: yieldMinLocal - 1, wait: time.Millisecond, taken: 5000}
	for range 10 {
		if b := tick(idle); b != 0 {
			t.Fatalf("idle hub: bound %.0f, want none", b)
		}
	}
	if b := tick(busy(10*time.Millisecond, 0)); b != yieldMinRate || c.base != 10*time.Millisecond {
		t.Fatalf("publishers busy, link quiet: bound %.0f, base %s; want %.0f and 10ms", b, c.base, yieldMinRate)
	}
	// The wait stays at the base: the bound doubles as long as the link uses it.
	for _, want := range []float64{200, 400, 800, 1600} {
		if b := tick(busy(10*time.Millisecond, c.bound)); b != want {
			t.Fatalf("no congestion: bound %.0f, want %.0f", b, want)
		}
	}
	// In a slow start one slow tick ends it: the bound drops to 0.7 of
	// what the link took.
	b := tick(busy(14*time.Millisecond, 1600))
	if b != yieldDecrease*1600 {
		t.Fatalf("slow start, a 14ms wait over a 10ms base: bound %.0f, want %.0f", b, yieldDecrease*1600)
	}
	for range yieldHold {
		if h := tick(busy(10*time.Millisecond, b)); h != b {
			t.Fatalf("after a cut the bound holds: %.0f, want %.0f", h, b)
		}
	}
	for range 5 {
		tick(busy(10*time.Millisecond, c.bound))
	}
	// Past the slow start, a single slow tick is noise; a lasting one is not.
	before := c.bound
	if b := tick(busy(14*time.Millisecond, before)); b <= before {
		t.Fatalf("one slow tick: bound %.0f, want it still growing from %.0f", b, before)
	}
	taken := c.bound
	b = tick(busy(18*time.Millisecond, taken))
	if b < yieldDecrease*taken-2 || b > yieldDecrease*taken+2 { // the tick counts whole records
		t.Fatalf("waits 14ms then 18ms over a 10ms base: bound %.0f, want %.0f (0.7 of what the link took)", b, yieldDecrease*taken)
	}
	for range yieldHold {
		if h := tick(busy(16*time.Millisecond, b)); h != b {
			t.Fatalf("after a cut the bound holds: %.0f, want %.0f", h, b)
		}
	}
	// Back at the base, it grows again, by an eighth a tick at most (once
	// the smoothed wait is back under the target).
	prev := c.bound
	for range 10 {
		if b := tick(busy(10*time.Millisecond, c.bound)); b > prev*1.125+1e-9 {
			t.Fatalf("back at the base: bound %.0f after %.0f, more than an eighth up", b, prev)
		}
		prev = c.bound
	}
	if c.bound < 1.5*b {
		t.Fatalf("ten ticks back at the base: bound %.0f, want it grown from %.0f", c.bound, b)
	}
	// A bound the link does not use does not grow past twice its use.
	if b := tick(busy(10*time.Millisecond, 160)); b != 320 {
		t.Fatalf("link using 160/s: bound %.0f, want 320", b)
	}
	// A tick without publishers' answers holds the bound (they may be
	// stalled); yieldIdleTicks in a row are an idle hub.
	held := c.bound
	for i := 1; i < yieldIdleTicks; i++ {
		if b := tick(idle); b != held {
			t.Fatalf("%d ticks without publishers: bound %.0f, want it held at %.0f", i, b, held)
		}
	}
	if b := tick(idle); b != 0 {
		t.Fatalf("publishers gone: bound %.0f, want none", b)
	}
}

// TestYieldMeasuresTheBaseAgain: with the link busy, a base older than
// yieldBaseAge is measured again by holding the link at the least bound
// for yieldSlowTicks ticks (the first one not counted); a busy hub whose
// base was never measured does the same at once. The slow start then
// stops at 0.7 of the rate before.
func TestYieldMeasuresTheBaseAgain(t *testing.T) {
	var c yieldControl
	now := time.Unix(0, 0)
	tick := func(s yieldSample) float64 { now = now.Add(yieldTick); return c.step(now, s) }
	// The link took 4000/s while the hub was idle; publishers come.
	if b := tick(busy(30*time.Millisecond, 4000)); b != yieldMinRate || c.slow != yieldSlowTicks {
		t.Fatalf("busy, no base: bound %.0f (slow %d), want a measure at %.0f", b, c.slow, yieldMinRate)
	}
	for i, w := range []time.Duration{20, 12, 14} {
		b := tick(busy(w*time.Millisecond, yieldMinRate))
		if b != yieldMinRate {
			t.Fatalf("tick %d of the measure: bound %.0f, want %.0f", i, b, yieldMinRate)
		}
	}
	if c.base != 13*time.Millisecond || c.threshold != yieldDecrease*4000 {
		t.Fatalf("measured base %s, slow start to %.0f; want 13ms (the last two ticks) and %.0f", c.base, c.threshold, yieldDecrease*4000)
	}
	// Busy and uncongested for longer than yieldBaseAge: measured again.
	for i := 0; c.slow == 0; i++ {
		tick(busy(13*time.Millisecond, c.bound))
		if i > 100 {
			t.Fatal("no measure")
		}
	}
	if age := now.Sub(c.baseAt); age <= yieldBaseAge || c.bound != yieldMinRate {
		t.Fatalf("measured again after %s at %.0f, want after %s at %.0f", age, c.bound, yieldBaseAge, yieldMinRate)
	}
}
