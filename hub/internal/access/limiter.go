package access

import (
	"sync"
	"time"
)

// limiter keeps a flood of refusals (a misconfigured client retrying, or an
// attack) from flooding the audit log: one entry per key per period, with a
// count of what was suppressed in between.
type limiter struct {
	period time.Duration
	mu     sync.Mutex
	last   map[string]time.Time
	held   map[string]int
}

func newLimiter(period time.Duration) *limiter {
	return &limiter{period: period, last: map[string]time.Time{}, held: map[string]int{}}
}

func (l *limiter) allow(key string) (bool, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if t, ok := l.last[key]; ok && now.Sub(t) < l.period {
		l.held[key]++
		return false, 0
	}
	if len(l.last) > 10000 {
		l.last, l.held = map[string]time.Time{}, map[string]int{}
	}
	n := l.held[key]
	l.last[key], l.held[key] = now, 0
	return true, n
}
