package runner_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/jobtech-dev/datahub/connector-kit/kit"
	"github.com/jobtech-dev/datahub/connector-kit/plugin"
	"github.com/jobtech-dev/datahub/connector-kit/runner"
)

// sliceSource is a complete source plugin: it hands out records held in
// memory and forgets each one only when its ack says the hub has it.
type sliceSource struct {
	mu      sync.Mutex
	records []plugin.Record
	next    int
	stored  int
}

var _ plugin.Source = (*sliceSource)(nil)

func (s *sliceSource) Connect(context.Context) error { return nil }

func (s *sliceSource) Read(context.Context) (plugin.Record, plugin.AckFunc, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.next == len(s.records) {
		return plugin.Record{}, nil, plugin.ErrEndOfInput
	}
	r := s.records[s.next]
	s.next++
	return r, func(_ context.Context, err error) error {
		s.mu.Lock()
		defer s.mu.Unlock()
		if err == nil {
			s.stored++
		}
		return nil
	}, nil
}

func (s *sliceSource) Close(context.Context) error { return nil }

// printSink is a complete sink plugin: it prints each record's id.
type printSink struct {
	w     io.Writer
	mu    sync.Mutex
	count int
}

var _ plugin.Sink = (*printSink)(nil)

func (s *printSink) Connect(context.Context) error { return nil }

func (s *printSink) Write(_ context.Context, r plugin.Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.count++
	_, err := fmt.Fprintln(s.w, r.Dataset, r.ID)
	return err
}

func (s *printSink) Close(context.Context) error { return nil }

// A source plugin is run against a hub with RunSource: each record is
// published with its id and acked with its fate.
func ExampleRunSource() {
	ctx := context.Background()
	c, err := kit.Dial(ctx, "nats://127.0.0.1:4222", "arbetsformedlingen.nk")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	src := &sliceSource{records: []plugin.Record{
		{ID: "ad-1", Data: []byte(`{"id":"1","headline":"Kock","removed":false}`)},
	}}
	if err := runner.RunSource(ctx, c, src, runner.SourceConfig{Name: "memory", Dataset: "jobads"}); err != nil {
		fmt.Println(err)
	}
}

// A sink plugin receives a dataset through a durable subscription with
// RunSink, until its context ends; a restart resumes after the last record
// it took.
func ExampleRunSink() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c, err := kit.Dial(ctx, "nats://127.0.0.1:4222", "matchwise.nk")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	go func() {
		_ = runner.RunSink(ctx, c, &printSink{w: os.Stdout}, runner.SinkConfig{Name: "printer", Dataset: "jobads", Start: "snapshot"})
	}()
	// … until the program stops: cancel() ends the subscription and closes
	// the sink.
}
