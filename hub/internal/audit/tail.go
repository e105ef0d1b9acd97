package audit

import (
	"context"
	"fmt"
)

// Tail calls fn with the last n entries (all of them when n <= 0; in a log
// with removed entries, those of the last n sequences), oldest first, and
// then, with follow, with every new entry until ctx ends, when it returns
// nil. Without follow it returns once the entries stored when it started
// are read. A non-nil error from fn stops the tail and is returned; a
// stored message that is not an entry stops it with an error wrapping
// [ErrBadEntry]; one that cannot be read at all is skipped with a warning.
func (l *Log) Tail(ctx context.Context, n int, follow bool, fn func(Entry) error) error {
	var start uint64
	if n > 0 {
		s, err := l.js.Stream(ctx, StreamName)
		if err != nil {
			return fmt.Errorf("audit stream %s: %w", StreamName, err)
		}
		info, err := s.Info(ctx)
		if err != nil {
			return fmt.Errorf("audit stream %s: %w", StreamName, err)
		}
		if last := info.State.LastSeq; last >= uint64(n) {
			start = last - uint64(n) + 1
		}
	}
	return consume(ctx, l.js, start, 0, follow, func(data []byte, seq uint64) error {
		e, err := decode(data, seq)
		if err != nil {
			return err
		}
		return fn(e)
	}, func(seq uint64, err error) error {
		l.log.WarnContext(ctx, "audit tail: entry cannot be read, skipped (audit verify reports it)", "seq", seq, "err", err)
		return nil
	})
}
