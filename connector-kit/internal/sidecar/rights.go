package sidecar

import (
	"sort"
	"sync"
	"time"
)

// rights is what the sidecar learned about the actor's publish rights from
// the hub's refusals. The NATS server refuses an ingest subject the actor
// may not publish to; once a record for a dataset was refused so, later
// POSTs for it are answered 403 at once instead of being queued behind
// other records only to be refused later. The hub decides an actor's rights
// each time it connects (an apply or a revocation cuts the connection), so
// what was learned holds for one connection generation: after the
// connection is authorized again, rights are learned again.
type rights struct {
	mu      sync.Mutex
	refused map[string]refusal // by dataset
}

// refusal is one dataset's publish refusal.
type refusal struct {
	gen   uint64
	at    time.Time
	cause string
}

func newRights() *rights { return &rights{refused: map[string]refusal{}} }

// learn records that the hub refused a record for dataset on the connection
// of generation gen.
func (r *rights) learn(dataset string, gen uint64, cause string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if old, ok := r.refused[dataset]; ok && old.gen == gen {
		return
	}
	r.refused[dataset] = refusal{gen: gen, at: time.Now(), cause: cause}
}

// forbidden reports whether the hub refused dataset on the connection of
// generation gen.
func (r *rights) forbidden(dataset string, gen uint64) (refusal, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ref, ok := r.refused[dataset]
	if ok && ref.gen != gen {
		delete(r.refused, dataset) // learned on an older connection
		return refusal{}, false
	}
	return ref, ok
}

// datasets lists the datasets refused on generation gen, sorted.
func (r *rights) datasets(gen uint64) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for d, ref := range r.refused {
		if ref.gen == gen {
			out = append(out, d)
		}
	}
	sort.Strings(out)
	return out
}
