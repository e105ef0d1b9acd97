package federation

import (
	"testing"
	"time"
)

// machine is a made-up hub for the control law: both hubs on one
// machine, whose work is shared between the publishers' records and the
// federated ones, each of which costs as much as cost publishers' records
// (ingest here, delivery on the giving hub). The publishers wait for their
// answers (closed loop), so their wait grows as their rate falls.
type machine struct {
	base  time.Duration // the publishers' wait without the link
	alone float64       // their rate without the link, records a second
	cost  float64       // a federated record's work, in publishers' records
}

// tick runs one tick at bound (0: none) and returns what it saw and the
// publishers' rate.
func (m *machine) tick(bound float64) (yieldSample, float64) {
	taken := 0.95 * m.alone / m.cost // a link unbounded takes nearly all
	if bound > 0 {
		taken = min(taken, bound)
	}
	rate := m.alone - m.cost*taken
	wait := time.Duration(float64(m.base) * m.alone / rate)
	n := uint64(rate * yieldTick.Seconds())
	return yieldSample{dt: yieldTick, local: n, wait: time.Duration(n) * wait, taken: uint64(taken * yieldTick.Seconds())}, rate
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
// settles where their rate stays above 0.7 of what it is alone, whatever
// a federated record costs; and the link still takes a fair part of what
// the target leaves it.
func TestYieldKeepsPublishersTheirRate(t *testing.T) {
	for _, cost := range []float64{0.5, 2, 5} {
		m := &machine{base: 10 * time.Millisecond, alone: 8000, cost: cost}
		var c yieldControl
		bounds, rates := run(&c, m, time.Unix(0, 0), 240) // a minute
		if got := mean(rates[20:]) / m.alone; got < 0.75 {
			t.Errorf("cost %.1f: publishers keep %.2f of their rate, want at least 0.75 (bounds %.0f)", cost, got, bounds[:40])
		}
		for i, b := range bounds {
			if b < yieldMinRate {
				t.Fatalf("cost %.1f: tick %d bound %.0f: below the least, or none while publishers are busy", cost, i, b)
			}
		}
		// The target leaves the link what takes the publishers' rate to
		// alone/yieldTarget; it takes at least half of that.
		room := m.alone * (1 - 1/yieldTarget) / cost
		if got := mean(bounds[20:]); got < room/2 {
			t.Errorf("cost %.1f: the link takes %.0f/s on average, less than half the %.0f/s the target leaves it", cost, got, room)
		}
	}
}

// TestYieldUnboundedWhileIdle: no publishers, no bound; publishers coming
// start a slow start from the least bound; publishers gone, no bound.
func TestYieldUnboundedWhileIdle(t *testing.T) {
	var c yieldControl
	now := time.Unix(0, 0)
	idle := yieldSample{dt: yieldTick, local: yieldMinLocal - 1, wait: time.Millisecond, taken: 5000}
	for range 10 {
		now = now.Add(yieldTick)
		if b := c.step(now, idle); b != 0 {
			t.Fatalf("idle hub: bound %.0f, want none", b)
		}
	}
	// Busy, the link quiet: the base is measured and the bound starts low.
	busy := func(wait time.Duration, taken uint64) yieldSample {
		return yieldSample{dt: yieldTick, local: 1000, wait: 1000 * wait, taken: taken}
	}
	now = now.Add(yieldTick)
	if b := c.step(now, busy(10*time.Millisecond, 0)); b != yieldMinRate || c.base != 10*time.Millisecond {
		t.Fatalf("publishers busy, link quiet: bound %.0f, base %s; want %.0f and 10ms", b, c.base, yieldMinRate)
	}
	// The wait stays at the base: the bound doubles as long as the link uses it.
	for _, want := range []float64{200, 400, 800} {
		now = now.Add(yieldTick)
		if b := c.step(now, busy(10*time.Millisecond, uint64(c.bound*yieldTick.Seconds()))); b != want {
			t.Fatalf("no congestion: bound %.0f, want %.0f", b, want)
		}
	}
	// The wait grows past the target: the bound drops to 0.7 of what the link took.
	now = now.Add(yieldTick)
	if b := c.step(now, busy(13*time.Millisecond, 200)); b != yieldDecrease*800 {
		t.Fatalf("congestion at 800/s: bound %.0f, want %.0f", b, yieldDecrease*800)
	}
	// From there it grows by a sixteenth (at least yieldMinRate) a tick.
	now = now.Add(yieldTick)
	if b := c.step(now, busy(10*time.Millisecond, 140)); b != 560+yieldMinRate {
		t.Fatalf("after congestion: bound %.0f, want %.0f", b, 560+yieldMinRate)
	}
	// A bound the link does not use does not grow past twice its use.
	now = now.Add(yieldTick)
	if b := c.step(now, busy(10*time.Millisecond, 30)); b != 2*120 {
		t.Fatalf("link using 120/s: bound %.0f, want %.0f", b, 2*120.0)
	}
	now = now.Add(yieldTick)
	if b := c.step(now, idle); b != 0 {
		t.Fatalf("publishers gone: bound %.0f, want none", b)
	}
}

// TestYieldMeasuresTheBaseAgain: with the link busy, a base older than
// yieldBaseAge is measured again by holding the link at the least bound
// for yieldSlowTicks ticks; a busy hub whose base was never measured does
// the same at once. The slow start then stops below the rate before.
func TestYieldMeasuresTheBaseAgain(t *testing.T) {
	var c yieldControl
	now := time.Unix(0, 0)
	busy := func(wait time.Duration, taken uint64) yieldSample {
		return yieldSample{dt: yieldTick, local: 1000, wait: 1000 * wait, taken: taken}
	}
	// The link took 4000/s while the hub was idle; publishers come.
	now = now.Add(yieldTick)
	if b := c.step(now, busy(30*time.Millisecond, 1000)); b != yieldMinRate || c.slow != yieldSlowTicks {
		t.Fatalf("busy, no base: bound %.0f (slow %d), want a measure at %.0f", b, c.slow, yieldMinRate)
	}
	now = now.Add(yieldTick)
	if b := c.step(now, busy(20*time.Millisecond, 25)); b != yieldMinRate || c.base != 0 {
		t.Fatalf("first tick of the measure: bound %.0f base %s; want %.0f and none yet", b, c.base, yieldMinRate)
	}
	now = now.Add(yieldTick)
	if b := c.step(now, busy(12*time.Millisecond, 25)); b != yieldMinRate || c.base != 12*time.Millisecond {
		t.Fatalf("second tick of the measure: bound %.0f base %s; want %.0f and 12ms", b, c.base, yieldMinRate)
	}
	if c.threshold != yieldDecrease*4000 {
		t.Fatalf("slow start stops at %.0f, want %.0f", c.threshold, yieldDecrease*4000)
	}
	// Busy and uncongested for longer than yieldBaseAge: measured again.
	for i := 0; now.Sub(c.baseAt) <= yieldBaseAge; i++ {
		now = now.Add(yieldTick)
		c.step(now, busy(12*time.Millisecond, uint64(c.bound*yieldTick.Seconds())))
		if i > 1000 {
			t.Fatal("no measure")
		}
	}
	if c.slow != yieldSlowTicks || c.bound != yieldMinRate {
		t.Fatalf("base %s old: slow %d bound %.0f, want a measure", now.Sub(c.baseAt), c.slow, c.bound)
	}
}
