package ingest

import (
	"log/slog"
	"sync"
	"time"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
)

// warnEvery bounds the warning log lines per dataset and publisher: a
// publisher sending thousands of old ads with deprecated concepts gets one
// line, then one every warnEvery counting the rest (each reply carries its
// own warnings, and Counts.Warned counts them all).
const warnEvery = 10 * time.Second

// warnLimiter logs records stored with warnings, a line per dataset and
// publisher at most every warnEvery.
type warnLimiter struct {
	mu   sync.Mutex
	seen map[[2]string]*warnState
}

type warnState struct {
	last       time.Time
	suppressed int
}

func (l *warnLimiter) log(log *slog.Logger, dataset, publisher, key string, w []wire.Violation) {
	now := time.Now()
	l.mu.Lock()
	if l.seen == nil {
		l.seen = map[[2]string]*warnState{}
	}
	st := l.seen[[2]string{dataset, publisher}]
	if st == nil {
		st = &warnState{}
		l.seen[[2]string{dataset, publisher}] = st
	}
	if now.Sub(st.last) < warnEvery {
		st.suppressed++
		l.mu.Unlock()
		return
	}
	more := st.suppressed
	st.last, st.suppressed = now, 0
	l.mu.Unlock()
	log.Warn("record stored with warnings", "dataset", dataset, "publisher", publisher, "key", key,
		"warnings", len(w), "first", oneLine(w[0]), "more_records_since_last", more)
}
