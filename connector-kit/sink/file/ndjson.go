package file

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/jobtech-dev/datahub/connector-kit/plugin"
)

// NDJSONSink appends records to a file, one JSON line each.
type NDJSONSink struct {
	cfg      Config
	mu       sync.Mutex
	f        *os.File
	unsynced int
	closed   bool
	buf      []byte
}

var _ plugin.BatchSink = (*NDJSONSink)(nil)

// NewNDJSON builds an "ndjson_file" sink; the file is opened by Connect.
// It returns an error wrapping plugin.ErrInvalidConfig for a bad config.
func NewNDJSON(cfg Config) (*NDJSONSink, error) {
	cfg, err := cfg.check()
	if err != nil {
		return nil, err
	}
	return &NDJSONSink{cfg: cfg}, nil
}

// Path returns the file the sink appends to.
func (s *NDJSONSink) Path() string { return s.cfg.Path }

// Connect opens the file for appending, creating it and its folder.
func (s *NDJSONSink) Connect(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if s.f != nil {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(s.cfg.Path), 0o755); err != nil {
		return fmt.Errorf("ndjson_file sink: %w", err)
	}
	f, err := os.OpenFile(s.cfg.Path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("ndjson_file sink: %w", err)
	}
	s.f = f
	return nil
}

// Write appends r as one line. It returns ErrNotConnected before Connect,
// ErrClosed after Close, and ErrBadRecord (marked plugin.Permanent) when
// data_only is set and the data is not JSON.
func (s *NDJSONSink) Write(ctx context.Context, r plugin.Record) error {
	return s.WriteBatch(ctx, []plugin.Record{r})
}

// WriteBatch appends rs with one write, so a batch is not interleaved with
// other writers' lines; its errors are Write's, and on an error nothing of
// rs was written.
func (s *NDJSONSink) WriteBatch(ctx context.Context, rs []plugin.Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		return ErrClosed
	case s.f == nil:
		return ErrNotConnected
	}
	buf := s.buf[:0]
	var err error
	for _, r := range rs {
		if buf, err = appendLine(buf, r, s.cfg.DataOnly); err != nil {
			return err
		}
	}
	s.buf = buf
	if _, err := s.f.Write(buf); err != nil {
		return fmt.Errorf("ndjson_file sink: write %s: %w", s.cfg.Path, err)
	}
	s.unsynced += len(rs)
	if s.unsynced >= s.cfg.SyncEvery {
		if err := s.f.Sync(); err != nil {
			return fmt.Errorf("ndjson_file sink: sync %s: %w", s.cfg.Path, err)
		}
		s.unsynced = 0
	}
	return nil
}

// Close syncs and closes the file.
func (s *NDJSONSink) Close(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	if s.f == nil {
		return nil
	}
	f := s.f
	s.f = nil
	serr := f.Sync()
	cerr := f.Close()
	if serr != nil {
		return fmt.Errorf("ndjson_file sink: sync %s: %w", s.cfg.Path, serr)
	}
	if cerr != nil {
		return fmt.Errorf("ndjson_file sink: close %s: %w", s.cfg.Path, cerr)
	}
	return nil
}
