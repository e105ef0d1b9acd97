package file

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jobtech-dev/datahub/connector-kit/plugin"
	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/internal/recordid"
)

// jobtechData returns the repository's folder of real JobTech data.
func jobtechData(t *testing.T) string {
	t.Helper()
	dir := filepath.Join("..", "..", "..", "testdata", "jobtech")
	if _, err := os.Stat(filepath.Join(dir, "job-ads.ndjson")); err != nil {
		t.Fatalf("real job ads: %v", err)
	}
	return dir
}

// jobAds copies the real ads into a fresh folder and returns the copy's
// path and its non-blank lines.
func jobAds(t *testing.T) (string, [][]byte) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(jobtechData(t), "job-ads.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "job-ads.ndjson")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	var lines [][]byte
	for _, l := range bytes.Split(b, []byte("\n")) {
		if l = bytes.TrimSpace(l); len(l) > 0 {
			lines = append(lines, l)
		}
	}
	return path, lines
}

func newSource(t *testing.T, stateDir, conf string) *Source {
	t.Helper()
	env := plugin.NewEnvironment()
	if err := Register(env); err != nil {
		t.Fatal(err)
	}
	src, err := env.NewSource(Name, []byte(conf), plugin.Resources{StateDir: stateDir})
	if err != nil {
		t.Fatal(err)
	}
	s := src.(*Source)
	if err := s.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	return s
}

type handout struct {
	rec plugin.Record
	ack plugin.AckFunc
}

func read(t *testing.T, s *Source) handout {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r, ack, err := s.Read(ctx)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	return handout{r, ack}
}

func expectEnd(t *testing.T, s *Source) {
	t.Helper()
	if r, _, err := s.Read(context.Background()); !errors.Is(err, plugin.ErrEndOfInput) {
		t.Fatalf("Read = %s, %v; want ErrEndOfInput", r.ID, err)
	}
}

func ack(t *testing.T, h handout, err error) {
	t.Helper()
	if aerr := h.ack(context.Background(), err); aerr != nil {
		t.Fatalf("ack: %v", aerr)
	}
}

func TestReadJobAds(t *testing.T) {
	path, lines := jobAds(t)
	s := newSource(t, t.TempDir(), "path: "+path+"\ndataset: job-ads")
	for i, want := range lines {
		h := read(t, s)
		if !bytes.Equal(h.rec.Data, want) || h.rec.Dataset != "job-ads" {
			t.Fatalf("record %d: dataset %q data %.60s", i, h.rec.Dataset, h.rec.Data)
		}
		if h.rec.ID != recordid.FromLine("job-ads.ndjson", i+1, want) || !strings.HasPrefix(h.rec.ID, fmt.Sprintf("job-ads.ndjson:%d:", i+1)) || !wire.ValidRecordID(h.rec.ID) {
			t.Fatalf("record %d: id %q", i, h.rec.ID)
		}
		ack(t, h, nil)
	}
	expectEnd(t, s)
	fi, _ := os.Stat(path)
	if got, want := s.Position(), (Position{Path: path, Line: len(lines), Offset: fi.Size(), Records: len(lines)}); got != want {
		t.Fatalf("position %+v, want %+v", got, want)
	}
}

func TestIDFromRealAds(t *testing.T) {
	path, lines := jobAds(t)
	for _, field := range []string{"/id", "id"} {
		t.Run(field, func(t *testing.T) {
			s := newSource(t, t.TempDir(), fmt.Sprintf("path: %s\ndataset: job-ads\nid_from: %q", path, field))
			for range lines {
				h := read(t, s)
				if !strings.HasPrefix(h.rec.ID, "job-ads:") || !wire.ValidRecordID(h.rec.ID) {
					t.Fatalf("id %q", h.rec.ID)
				}
				ack(t, h, nil)
			}
		})
	}
}

func TestResumeAfterUnackedRecord(t *testing.T) {
	path, lines := jobAds(t)
	// Add blank lines and a fourth record so positions are not trivial.
	extra := []byte(`{"id":"extra-1","headline":"Kock"}`)
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(f, "\n\n%s\n", extra)
	f.Close()
	lines = append(lines, extra)

	state := t.TempDir()
	conf := "path: " + path + "\ndataset: job-ads"
	s := newSource(t, state, conf)
	first := []handout{read(t, s), read(t, s), read(t, s)}
	ack(t, first[0], nil)
	ack(t, first[2], nil) // first[1] is never acked: the process "crashes"
	if p := s.Position(); p.Records != 1 || p.Line != 1 {
		t.Fatalf("position %+v, want after the first record", p)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}

	s2 := newSource(t, state, conf)
	for i := 1; i < len(lines); i++ {
		h := read(t, s2)
		if !bytes.Equal(h.rec.Data, lines[i]) {
			t.Fatalf("after restart, record %d is %.60s; want %.60s", i, h.rec.Data, lines[i])
		}
		if i <= 2 && h.rec.ID != first[i].rec.ID {
			t.Fatalf("re-read record %d has id %q, first read %q", i, h.rec.ID, first[i].rec.ID)
		}
		ack(t, h, nil)
	}
	expectEnd(t, s2)
	if p := s2.Position(); p.Records != 4 || p.Line != 6 {
		t.Fatalf("position %+v", p)
	}
	if err := s2.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Everything acked: a third run has nothing to read.
	expectEnd(t, newSource(t, state, conf))
}

func TestNack(t *testing.T) {
	path, lines := jobAds(t)
	s := newSource(t, t.TempDir(), "path: "+path+"\ndataset: job-ads\nredeliver_after: 20ms")
	h1 := read(t, s)
	ack(t, h1, errors.New("hub unreachable"))
	ack(t, h1, nil) // a second call of the same AckFunc is ignored
	h2 := read(t, s)
	ack(t, h2, plugin.Permanent(errors.New("invalid record"))) // skipped for good
	h3 := read(t, s)
	ack(t, h3, nil)
	if p := s.Position(); p.Records != 0 {
		t.Fatalf("position moved past a nacked record: %+v", p)
	}
	start := time.Now()
	again := read(t, s) // waits for redeliver_after, then hands out record 1 again
	if again.rec.ID != h1.rec.ID || !bytes.Equal(again.rec.Data, lines[0]) {
		t.Fatalf("redelivered %q, want %q", again.rec.ID, h1.rec.ID)
	}
	if time.Since(start) > 2*time.Second {
		t.Fatal("redelivery took too long")
	}
	ack(t, again, nil)
	expectEnd(t, s)
	if p := s.Position(); p.Records != 3 {
		t.Fatalf("position %+v, want all 3 records", p)
	}
}

func TestFollow(t *testing.T) {
	path, lines := jobAds(t)
	s := newSource(t, t.TempDir(), "path: "+path+"\ndataset: job-ads\nfollow: true\npoll_interval: 5ms")
	for range lines {
		ack(t, read(t, s), nil)
	}
	// Nothing more yet: Read waits until ctx ends.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	if _, _, err := s.Read(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Read at the end of a followed file = %v", err)
	}
	cancel()

	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// A line is written in two parts; the half line is not a record.
	got := make(chan handout, 1)
	go func() {
		r, a, err := s.Read(context.Background())
		if err != nil {
			t.Error(err)
		}
		got <- handout{r, a}
	}()
	fmt.Fprint(f, `{"id":"new-1",`)
	time.Sleep(30 * time.Millisecond)
	select {
	case h := <-got:
		t.Fatalf("half a line was read: %s", h.rec.Data)
	default:
	}
	fmt.Fprint(f, `"headline":"Snickare"}`+"\n")
	h := <-got
	if string(h.rec.Data) != `{"id":"new-1","headline":"Snickare"}` || !strings.HasPrefix(h.rec.ID, fmt.Sprintf("job-ads.ndjson:%d:", len(lines)+1)) {
		t.Fatalf("appended record %s (%s)", h.rec.Data, h.rec.ID)
	}
	ack(t, h, nil)

	// The file is truncated and restarted, as a log rotated in place.
	if err := os.WriteFile(path, []byte(`{"id":"after-rotation"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	h = read(t, s)
	if string(h.rec.Data) != `{"id":"after-rotation"}` || !strings.HasPrefix(h.rec.ID, "job-ads.ndjson:1:") {
		t.Fatalf("after truncation: %s (%s)", h.rec.Data, h.rec.ID)
	}
	ack(t, h, nil)
	if p := s.Position(); p.Line != 1 || p.Records != 1 {
		t.Fatalf("position after truncation %+v", p)
	}
}

func TestJSONDocument(t *testing.T) {
	_, lines := jobAds(t)
	path := filepath.Join(t.TempDir(), "ads.json")
	doc := "[\n" + string(bytes.Join(lines, []byte(",\n"))) + "\n]\n"
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	state := t.TempDir()
	conf := "path: " + path + "\ndataset: job-ads\nid_from: /id"
	s := newSource(t, state, conf)
	h := read(t, s)
	if !strings.HasPrefix(h.rec.ID, "job-ads:22884504:") || !bytes.Equal(h.rec.Data, lines[0]) {
		t.Fatalf("first element: %s %.40s", h.rec.ID, h.rec.Data)
	}
	ack(t, h, nil)
	read(t, s) // not acked
	s.Close(context.Background())

	s2 := newSource(t, state, conf)
	for i := 1; i < len(lines); i++ {
		h := read(t, s2)
		if !bytes.Equal(h.rec.Data, lines[i]) {
			t.Fatalf("element %d: %.40s", i, h.rec.Data)
		}
		ack(t, h, nil)
	}
	expectEnd(t, s2)
	if p := s2.Position(); p.Records != len(lines) || p.Offset != 0 {
		t.Fatalf("position %+v", p)
	}
}

func TestPositionThatDoesNotFit(t *testing.T) {
	path, lines := jobAds(t)
	tests := []struct {
		name string
		pos  Position
	}{
		{"another file", Position{Path: "/elsewhere/ads.ndjson", Line: 2, Offset: 10, Records: 2}},
		{"past the end", Position{Path: path, Line: 9, Offset: 1 << 30, Records: 9}},
		{"not at a line start", Position{Path: path, Line: 1, Offset: 5, Records: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			state := t.TempDir()
			if err := savePosition(filepath.Join(state, StateFile), tt.pos); err != nil {
				t.Fatal(err)
			}
			s := newSource(t, state, "path: "+path+"\ndataset: job-ads")
			if h := read(t, s); !bytes.Equal(h.rec.Data, lines[0]) {
				t.Fatalf("did not start over: %.40s", h.rec.Data)
			}
		})
	}
}

func TestSourceErrors(t *testing.T) {
	env := plugin.NewEnvironment()
	if err := Register(env); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, conf string }{
		{"no path", "dataset: d"},
		{"no dataset", "path: a.ndjson"},
		{"unknown field", "path: a.ndjson\ndataset: d\ntail: true"},
		{"follow a JSON document", "path: a.json\ndataset: d\nfollow: true"},
		{"negative poll", "path: a.ndjson\ndataset: d\npoll_interval: -1s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := env.NewSource(Name, []byte(tt.conf), plugin.Resources{StateDir: t.TempDir()}); !errors.Is(err, plugin.ErrInvalidConfig) {
				t.Fatalf("err = %v, want ErrInvalidConfig", err)
			}
		})
	}
	if _, err := New(Config{Path: "a.ndjson", Dataset: "d"}, plugin.Resources{}); !errors.Is(err, plugin.ErrInvalidConfig) {
		t.Fatalf("no StateDir: %v", err)
	}
	s, err := New(Config{Path: filepath.Join(t.TempDir(), "missing.ndjson"), Dataset: "d"}, plugin.Resources{StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Read(context.Background()); !errors.Is(err, plugin.ErrNotConnected) {
		t.Fatalf("Read before Connect = %v", err)
	}
	if err := s.Connect(context.Background()); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Connect to a missing file = %v", err)
	}
}
