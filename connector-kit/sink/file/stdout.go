package file

import (
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/jobtech-dev/datahub/connector-kit/plugin"
)

// StdoutSink writes records as NDJSON lines to an io.Writer. The registered
// "stdout" sink writes to os.Stdout.
type StdoutSink struct {
	cfg    StdoutConfig
	mu     sync.Mutex
	w      io.Writer
	closed bool
	buf    []byte
}

var _ plugin.BatchSink = (*StdoutSink)(nil)

// NewStdout returns a sink writing to w. Close does not close w.
func NewStdout(w io.Writer, cfg StdoutConfig) *StdoutSink {
	return &StdoutSink{cfg: cfg, w: w}
}

// Connect does nothing: the writer is ready.
func (s *StdoutSink) Connect(ctx context.Context) error { return nil }

// Write writes r as one line. It returns ErrClosed after Close and
// ErrBadRecord (marked plugin.Permanent) when data_only is set and the data
// is not JSON.
func (s *StdoutSink) Write(ctx context.Context, r plugin.Record) error {
	return s.WriteBatch(ctx, []plugin.Record{r})
}

// WriteBatch writes rs with one write; its errors are Write's.
func (s *StdoutSink) WriteBatch(ctx context.Context, rs []plugin.Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	buf := s.buf[:0]
	var err error
	for _, r := range rs {
		if buf, err = appendLine(buf, r, s.cfg.DataOnly); err != nil {
			return err
		}
	}
	s.buf = buf
	if _, err := s.w.Write(buf); err != nil {
		return fmt.Errorf("stdout sink: %w", err)
	}
	return nil
}

// Close stops the sink; later writes return ErrClosed.
func (s *StdoutSink) Close(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}
