package file

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/jobtech-dev/datahub/internal/recordid"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jobtech-dev/datahub/connector-kit/plugin"
	"github.com/jobtech-dev/datahub/internal/recordfile"
)

// Source reads the records of one file. Read is meant to be called from
// one goroutine; acks may come from any.
type Source struct {
	cfg       Config
	abs       string // the file's absolute path
	base      string // its base name, for default ids
	statePath string
	log       *slog.Logger

	// Reader state, owned by Read (readMu).
	readMu  sync.Mutex
	f       *os.File
	br      *bufio.Reader
	partial []byte
	line    int                 // lines consumed
	offset  int64               // bytes consumed
	ordinal int                 // records handed out for the first time
	doc     []recordfile.Record // a JSON document's records
	closed  bool

	// Ack state (mu).
	mu        sync.Mutex
	gen       int      // bumped when a followed file is replaced
	inflight  []*entry // handed out, in file order, not yet all acked
	redeliver []*entry // nacked, to hand out again
	committed Position
}

// entry is a record handed out and not yet part of the acked prefix.
type entry struct {
	rec       plugin.Record
	gen       int
	line      int
	end       int64
	ordinal   int
	acked     bool
	notBefore time.Time
}

var _ plugin.Source = (*Source)(nil)

// New builds an "ndjson_file" source; res.StateDir is required (the
// position file lives there). It returns an error wrapping
// plugin.ErrInvalidConfig for a bad config.
func New(cfg Config, res plugin.Resources) (*Source, error) {
	cfg, err := cfg.check()
	if err != nil {
		return nil, err
	}
	if res.StateDir == "" {
		return nil, fmt.Errorf("ndjson_file source: %w: Resources.StateDir is required for the read position", plugin.ErrInvalidConfig)
	}
	abs, err := filepath.Abs(cfg.Path)
	if err != nil {
		return nil, fmt.Errorf("ndjson_file source: %w: path: %v", plugin.ErrInvalidConfig, err)
	}
	s := &Source{
		cfg:       cfg,
		abs:       abs,
		base:      filepath.Base(abs),
		statePath: filepath.Join(res.StateDir, StateFile),
		log:       res.Logger,
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.log = s.log.With("source", Name, "path", abs, "dataset", cfg.Dataset)
	return s, nil
}

// Position returns how far every record has been acked.
func (s *Source) Position() Position {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.committed
}

// Connect opens the file and moves to just after the saved position. A
// saved position for another file, or past the end of this one, is
// discarded with a warning and the file is read from its start.
func (s *Source) Connect(ctx context.Context) error {
	s.readMu.Lock()
	defer s.readMu.Unlock()
	if s.f != nil || s.doc != nil {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(s.statePath), 0o755); err != nil {
		return fmt.Errorf("ndjson_file source: state folder: %w", err)
	}
	pos, err := loadPosition(s.statePath)
	if err != nil {
		return fmt.Errorf("ndjson_file source: %w", err)
	}
	if pos.Path != "" && pos.Path != s.abs {
		s.log.Warn("saved position is for another file; reading from the start", "saved_for", pos.Path)
		pos = Position{}
	}
	pos.Path = s.abs
	if recordfile.IsNDJSON(s.abs) {
		if pos, err = s.openNDJSON(pos); err != nil {
			return err
		}
	} else if err := s.loadDocument(pos); err != nil {
		return err
	}
	s.closed = false
	s.mu.Lock()
	s.committed = pos
	s.inflight, s.redeliver = nil, nil
	s.gen++
	s.mu.Unlock()
	return nil
}

func (s *Source) openNDJSON(pos Position) (Position, error) {
	f, err := os.Open(s.abs)
	if err != nil {
		return pos, fmt.Errorf("ndjson_file source: %w", err)
	}
	if pos.Offset > 0 && !endsLineAt(f, pos.Offset) {
		s.log.Warn("saved position does not fit the file (shorter or changed); reading from the start", "line", pos.Line, "offset", pos.Offset)
		pos = Position{Path: s.abs}
	}
	if _, err := f.Seek(pos.Offset, io.SeekStart); err != nil {
		f.Close()
		return pos, fmt.Errorf("ndjson_file source: seek: %w", err)
	}
	s.f, s.br = f, bufio.NewReaderSize(f, 64<<10)
	s.partial = s.partial[:0]
	s.line, s.offset, s.ordinal = pos.Line, pos.Offset, pos.Records
	return pos, nil
}

// endsLineAt reports whether off is just past a newline of f, or its end.
func endsLineAt(f *os.File, off int64) bool {
	fi, err := f.Stat()
	if err != nil || fi.Size() < off {
		return false
	}
	if fi.Size() == off {
		return true
	}
	var b [1]byte
	_, err = f.ReadAt(b[:], off-1)
	return err == nil && b[0] == '\n'
}

func (s *Source) loadDocument(pos Position) error {
	var recs []recordfile.Record
	err := recordfile.ReadFile(s.abs, func(r recordfile.Record) error {
		recs = append(recs, r)
		return nil
	})
	if err != nil {
		return fmt.Errorf("ndjson_file source: %w", err)
	}
	if pos.Records > len(recs) {
		s.log.Warn("saved position is past the end of the file; reading from the start", "records", pos.Records)
		pos.Records = 0
	}
	s.doc = recs
	s.ordinal = pos.Records
	if s.doc == nil {
		s.doc = []recordfile.Record{}
	}
	return nil
}

// Read returns the next record: one due for redelivery first, else the next
// in the file. At the end of the file it returns plugin.ErrEndOfInput (a
// record nacked after that is read again after a restart), or with follow
// waits for more. It returns plugin.ErrNotConnected before Connect,
// ErrClosed after Close, ErrLineTooLong for an oversized line and ctx's
// error when ctx ends while waiting.
func (s *Source) Read(ctx context.Context) (plugin.Record, plugin.AckFunc, error) {
	s.readMu.Lock()
	defer s.readMu.Unlock()
	for {
		switch {
		case s.closed:
			return plugin.Record{}, nil, ErrClosed
		case s.f == nil && s.doc == nil:
			return plugin.Record{}, nil, plugin.ErrNotConnected
		}
		if err := ctx.Err(); err != nil {
			return plugin.Record{}, nil, err
		}
		e, due := s.nextRedelivery()
		if e != nil && due.IsZero() {
			return e.rec, s.ackFunc(e), nil
		}
		rec, ok, err := s.next()
		if err != nil {
			return plugin.Record{}, nil, err
		}
		if ok {
			return rec.rec, s.ackFunc(rec), nil
		}
		// At the end of the file.
		wait := s.cfg.PollInterval
		switch {
		case !due.IsZero():
			wait = min(wait, time.Until(due))
			if !s.cfg.Follow {
				wait = time.Until(due)
			}
		case !s.cfg.Follow:
			return plugin.Record{}, nil, plugin.ErrEndOfInput
		}
		if s.cfg.Follow {
			if err := s.checkReplaced(); err != nil {
				return plugin.Record{}, nil, err
			}
		}
		// Wait without the lock, so Close need not wait for us.
		s.readMu.Unlock()
		t := time.NewTimer(max(wait, 0))
		select {
		case <-ctx.Done():
			t.Stop()
		case <-t.C:
		}
		s.readMu.Lock()
	}
}

// nextRedelivery pops a nacked record whose wait is over; otherwise it
// returns nil and when the earliest one is due (zero: none waiting).
func (s *Source) nextRedelivery() (*entry, time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var due time.Time
	now := time.Now()
	for i, e := range s.redeliver {
		if !e.notBefore.After(now) {
			s.redeliver = append(s.redeliver[:i], s.redeliver[i+1:]...)
			return e, time.Time{}
		}
		if due.IsZero() || e.notBefore.Before(due) {
			due = e.notBefore
		}
	}
	return nil, due
}

// next reads the next record of the file; ok is false at its end.
func (s *Source) next() (*entry, bool, error) {
	if s.doc != nil {
		if s.ordinal >= len(s.doc) {
			return nil, false, nil
		}
		r := s.doc[s.ordinal]
		s.ordinal++
		return s.track(r.Data, r.Line, 0), true, nil
	}
	for {
		chunk, err := s.br.ReadSlice('\n')
		s.partial = append(s.partial, chunk...)
		if len(s.partial) > recordfile.MaxLine {
			return nil, false, fmt.Errorf("%w: %s:%d is over %d bytes", ErrLineTooLong, s.abs, s.line+1, recordfile.MaxLine)
		}
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			// A last line without its newline is whole only when the file
			// is not growing.
			if len(s.partial) == 0 || s.cfg.Follow {
				return nil, false, nil
			}
		case err != nil:
			return nil, false, fmt.Errorf("ndjson_file source: read %s: %w", s.abs, err)
		}
		s.line++
		s.offset += int64(len(s.partial))
		b := bytes.TrimSpace(s.partial)
		s.partial = s.partial[:0]
		if len(b) == 0 {
			if err != nil { // blank tail at EOF
				return nil, false, nil
			}
			continue
		}
		s.ordinal++
		return s.track(bytes.Clone(b), s.line, s.offset), true, nil
	}
}

// track builds the record for data and adds it to the in-flight list.
func (s *Source) track(data []byte, line int, end int64) *entry {
	id := recordid.FromLine(s.base, line, data)
	if s.cfg.IDFrom != "" {
		v, err := recordid.FromField(s.cfg.Dataset, s.cfg.IDFrom, data)
		if err != nil {
			s.log.Warn("id_from: using the default id", "line", line, "id", id, "error", err)
		} else {
			id = v
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e := &entry{
		rec: plugin.Record{Dataset: s.cfg.Dataset, ID: id, Data: data},
		gen: s.gen, line: line, end: end, ordinal: s.ordinal,
	}
	s.inflight = append(s.inflight, e)
	return e
}

// ackFunc returns the AckFunc for one hand-out of e; only its first call
// counts.
func (s *Source) ackFunc(e *entry) plugin.AckFunc {
	var once atomic.Bool
	return func(ctx context.Context, err error) error {
		if !once.CompareAndSwap(false, true) {
			return nil
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if e.gen != s.gen {
			return nil // the file was replaced or reopened since
		}
		if err != nil && !plugin.IsPermanent(err) {
			e.notBefore = time.Now().Add(s.cfg.RedeliverAfter)
			s.redeliver = append(s.redeliver, e)
			return nil
		}
		if err != nil {
			s.log.Warn("record refused for good; skipping it", "line", e.line, "id", e.rec.ID, "error", err)
		}
		e.acked = true
		n := 0
		for n < len(s.inflight) && s.inflight[n].acked {
			d := s.inflight[n]
			s.committed.Line, s.committed.Records = d.line, d.ordinal
			if s.doc == nil {
				s.committed.Offset = d.end
			}
			n++
		}
		if n == 0 {
			return nil
		}
		s.inflight = append(s.inflight[:0], s.inflight[n:]...)
		if err := savePosition(s.statePath, s.committed); err != nil {
			return fmt.Errorf("ndjson_file source: %w", err)
		}
		return nil
	}
}

// checkReplaced reopens a followed file that shrank or was replaced (log
// rotation): its records are read from the start, and acks of the old
// file's records no longer move the position.
func (s *Source) checkReplaced() error {
	cur, err := s.f.Stat()
	if err != nil {
		return fmt.Errorf("ndjson_file source: %w", err)
	}
	now, err := os.Stat(s.abs)
	if errors.Is(err, os.ErrNotExist) {
		return nil // rotated away, the new file is not there yet
	}
	if err != nil {
		return fmt.Errorf("ndjson_file source: %w", err)
	}
	if os.SameFile(cur, now) && now.Size() >= s.offset+int64(len(s.partial)) {
		return nil
	}
	s.log.Warn("file was truncated or replaced; reading it from the start")
	s.f.Close()
	s.f = nil
	pos, err := s.openNDJSON(Position{Path: s.abs})
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gen++
	s.inflight, s.redeliver = nil, nil
	s.committed = pos
	if err := savePosition(s.statePath, pos); err != nil {
		return fmt.Errorf("ndjson_file source: %w", err)
	}
	return nil
}

// Close closes the file. The position is already saved by every ack that
// moved it; acks that arrive after Close still move it.
func (s *Source) Close(ctx context.Context) error {
	s.readMu.Lock()
	defer s.readMu.Unlock()
	s.closed = true
	s.doc = nil
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f, s.br = nil, nil
	if err != nil {
		return fmt.Errorf("ndjson_file source: %w", err)
	}
	return nil
}
