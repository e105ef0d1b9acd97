package jsread_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/jobtech-dev/datahub/hub/internal/hubtest"
	"github.com/jobtech-dev/datahub/hub/internal/jsread"
	"github.com/jobtech-dev/datahub/hub/internal/natsd"
)

const stream = "TEST"

// server is an embedded NATS server with JetStream in dir.
type server struct {
	s  *natsd.Server
	js jetstream.JetStream
}

func start(t *testing.T, dir string) *server {
	t.Helper()
	s, err := natsd.Start(t.Context(), natsd.Config{StoreDir: dir, Logger: hubtest.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	nc, err := s.Connect("test")
	if err != nil {
		t.Fatal(err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close(); _ = s.Shutdown(context.Background()) })
	return &server{s: s, js: js}
}

func (s *server) stop(t *testing.T) {
	t.Helper()
	if err := s.s.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
}

// payload is message i's data; its marker finds it in a block file.
func payload(i int) []byte {
	return append(fmt.Appendf(nil, "payload-%03d-", i), bytes.Repeat([]byte("x"), 100)...)
}

// damaged stores n messages on subjects d.k<i> (and, with other, every odd
// one on o.k<i> instead), stops the server, flips a byte inside the payload
// of each message in corrupt (1-based sequences), and starts it again.
func damaged(t *testing.T, n int, other bool, corrupt ...int) *server {
	t.Helper()
	dir := t.TempDir()
	s := start(t, dir)
	if _, err := s.js.CreateStream(t.Context(), jetstream.StreamConfig{Name: stream, Subjects: []string{"d.>", "o.>"}, Storage: jetstream.FileStorage}); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= n; i++ {
		subj := fmt.Sprintf("d.k%d", i)
		if other && i%2 == 1 {
			subj = fmt.Sprintf("o.k%d", i)
		}
		if _, err := s.js.Publish(t.Context(), subj, payload(i)); err != nil {
			t.Fatal(err)
		}
	}
	s.stop(t)
	blk := filepath.Join(dir, "jetstream", "$G", "streams", stream, "msgs", "1.blk")
	b, err := os.ReadFile(blk)
	if err != nil {
		t.Fatal(err)
	}
	for _, seq := range corrupt {
		i := bytes.Index(b, payload(seq)[:12])
		if i < 0 {
			t.Fatalf("message %d not found in %s", seq, blk)
		}
		b[i+40] ^= 0x55
	}
	if err := os.WriteFile(blk, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return start(t, dir)
}

// read runs a read and returns the sequences handed over and its error.
func read(t *testing.T, s *server, cfg jetstream.OrderedConsumerConfig, o jsread.Options) ([]uint64, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	var got []uint64
	err := jsread.Read(ctx, s.js, stream, cfg, o, func(m jetstream.Msg, meta *jetstream.MsgMetadata) error {
		seq := meta.Sequence.Stream
		if want := payload(int(seq)); !bytes.Equal(m.Data(), want) {
			t.Errorf("sequence %d: data %.20q…, want %.20q…", seq, m.Data(), want)
		}
		got = append(got, seq)
		return nil
	})
	if ctx.Err() != nil {
		t.Fatalf("read still running after 20 s: %d messages read", len(got))
	}
	return got, err
}

func seqs(from, to int, except ...int) []uint64 {
	var out []uint64
	for i := from; i <= to; i++ {
		if !slices.Contains(except, i) {
			out = append(out, uint64(i))
		}
	}
	return out
}

func wantUnreadable(t *testing.T, err error, bad ...uint64) {
	t.Helper()
	ue, ok := errors.AsType[*jsread.UnreadableError](err)
	if !ok || !errors.Is(err, jsread.ErrUnreadable) {
		t.Fatalf("error %v, want an *UnreadableError naming %v", err, bad)
	}
	if !slices.Equal(ue.Seqs, bad) || ue.Stream != stream {
		t.Fatalf("unreadable %s %v, want %s %v (%v)", ue.Stream, ue.Seqs, stream, bad, err)
	}
}

// A full read of a stream with a damaged message ends at once, hands over
// every other message and names the damaged one; before, it waited for ever
// for the message the store passes over but still counts.
func TestFullReadPassesOverADamagedMessage(t *testing.T) {
	t.Parallel()
	s := damaged(t, 203, false, 101)
	start := time.Now()
	got, err := read(t, s, jetstream.OrderedConsumerConfig{}, jsread.Options{})
	wantUnreadable(t, err, 101)
	if want := seqs(1, 203, 101); !slices.Equal(got, want) {
		t.Fatalf("read %d messages %v…, want the 202 readable ones", len(got), got[:min(5, len(got))])
	}
	if d := time.Since(start); d > jsread.DefaultStallTimeout {
		t.Fatalf("read took %s: it waited for the damaged message", d)
	}
}

// A read of the newest message per subject stalls on a damaged one (the
// server retries loading it for ever); the read notices within the stall
// timeout, reads on by sequence, and names it.
func TestSnapshotReadDoesNotStallOnADamagedMessage(t *testing.T) {
	t.Parallel()
	s := damaged(t, 50, false, 7, 30)
	start := time.Now()
	got, err := read(t, s, jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverLastPerSubjectPolicy},
		jsread.Options{StallTimeout: 300 * time.Millisecond})
	wantUnreadable(t, err, 7, 30)
	if want := seqs(1, 50, 7, 30); !slices.Equal(got, want) {
		t.Fatalf("read %v, want every readable message once", got)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("read took %s", d)
	}
}

// A read of some subjects names the damaged message it went past and no
// message of another subject.
func TestFilteredReadNamesTheDamagedMessage(t *testing.T) {
	t.Parallel()
	s := damaged(t, 40, true, 10) // 10 is on d.k10: even
	got, err := read(t, s, jetstream.OrderedConsumerConfig{FilterSubjects: []string{"d.>"}}, jsread.Options{StallTimeout: 300 * time.Millisecond})
	wantUnreadable(t, err, 10)
	var want []uint64
	for i := 2; i <= 40; i += 2 {
		if i != 10 {
			want = append(want, uint64(i))
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("read %v, want %v", got, want)
	}
}

// A healthy stream reads as before: no error, nothing passed over, also
// when it is sparse for the filter.
func TestHealthyReadsReportNothing(t *testing.T) {
	t.Parallel()
	s := damaged(t, 30, true)
	for _, cfg := range []jetstream.OrderedConsumerConfig{
		{},
		{FilterSubjects: []string{"d.>"}},
		{FilterSubjects: []string{"o.>"}, DeliverPolicy: jetstream.DeliverLastPerSubjectPolicy},
		{DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: 11},
	} {
		got, err := read(t, s, cfg, jsread.Options{})
		if err != nil || len(got) == 0 {
			t.Fatalf("%+v: read %v, %v", cfg, got, err)
		}
	}
	got, err := read(t, s, jetstream.OrderedConsumerConfig{}, jsread.Options{StopAt: 12})
	if err != nil || !slices.Equal(got, seqs(1, 12)) {
		t.Fatalf("StopAt 12: %v %v", got, err)
	}
}

// A following read is told about the damaged message as soon as it is
// found, and goes on with the live messages.
func TestFollowingReadReportsAndGoesOn(t *testing.T) {
	t.Parallel()
	s := damaged(t, 20, false, 5)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var mu sync.Mutex
	var got, told []uint64
	done := make(chan error, 1)
	go func() {
		done <- jsread.Read(ctx, s.js, stream, jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverLastPerSubjectPolicy},
			jsread.Options{Follow: true, StallTimeout: 300 * time.Millisecond, OnUnreadable: func(seqs []uint64) {
				mu.Lock()
				told = append(told, seqs...)
				mu.Unlock()
			}}, func(m jetstream.Msg, meta *jetstream.MsgMetadata) error {
				mu.Lock()
				got = append(got, meta.Sequence.Stream)
				mu.Unlock()
				return nil
			})
	}()
	if _, err := s.js.Publish(t.Context(), "d.k21", payload(21)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		ok := len(got) == 20 && slices.Equal(told, []uint64{5})
		mu.Unlock()
		if ok {
			break
		}
		if time.Now().After(deadline) {
			mu.Lock()
			defer mu.Unlock()
			t.Fatalf("after 10 s: read %v, told %v", got, told)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	err := <-done
	wantUnreadable(t, err, 5)
	if !slices.Equal(got, seqs(1, 21, 5)) {
		t.Fatalf("read %v", got)
	}
}

func TestFormatSeqs(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in    []uint64
		limit int
		want  string
	}{
		{nil, 0, ""},
		{[]uint64{7}, 0, "7"},
		{[]uint64{1, 2, 3, 7, 9, 10}, 0, "1-3, 7, 9-10"},
		{[]uint64{1, 3, 5, 7}, 2, "1, 3, and 2 more ranges"},
	} {
		if got := jsread.FormatSeqs(tc.in, tc.limit); got != tc.want {
			t.Errorf("FormatSeqs(%v, %d) = %q, want %q", tc.in, tc.limit, got, tc.want)
		}
	}
}
