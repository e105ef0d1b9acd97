package integrity

import (
	"context"
	"time"
)

// DeleteStream deletes stream on purpose (a dataset an admin deleted) by
// calling del, without the record reporting it as lost: the stream leaves
// the record first, comparisons pass over it while it goes, and the record
// is written at once, so the next start does not miss it either.
func (t *Tracker) DeleteStream(ctx context.Context, stream string, del func(context.Context) error) error {
	t.mu.Lock()
	if t.deleting == nil {
		t.deleting = map[string]time.Time{}
	}
	t.deleting[stream] = time.Time{} // in progress
	delete(t.rec.Streams, stream)
	t.mu.Unlock()
	err := del(ctx)
	t.mu.Lock()
	t.deleting[stream] = t.opts.Now()
	delete(t.rec.Streams, stream)
	t.mu.Unlock()
	if err != nil {
		return err
	}
	return t.write(ctx, false)
}

// passOverDeleted leaves out of cur the streams being deleted on purpose, or
// deleted after a comparison that read cur at began started; t.mu is held.
func (t *Tracker) passOverDeleted(cur map[string]StreamState, began time.Time) {
	for name, done := range t.deleting {
		if done.IsZero() || !began.After(done) {
			delete(cur, name)
			continue
		}
		delete(t.deleting, name) // cur was read after it went: it is the truth
	}
}
