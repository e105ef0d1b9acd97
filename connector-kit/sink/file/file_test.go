package file

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jobtech-dev/datahub/connector-kit/plugin"
	"github.com/jobtech-dev/datahub/connector-kit/wire"
)

func records(n int) []plugin.Record {
	var rs []plugin.Record
	for i := range n {
		id := fmt.Sprintf("r%d", i)
		data := json.RawMessage(fmt.Sprintf("{\n  \"id\": %q,\n  \"n\": %d\n}", id, i)) // pretty: must become one line
		rs = append(rs, plugin.Record{Dataset: "job-ads", ID: id, Data: data,
			Envelope: &wire.Envelope{ID: id, Dataset: "job-ads", Seq: uint64(i + 1), Data: data}})
	}
	return rs
}

func lines(t *testing.T, b []byte) []string {
	t.Helper()
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}

func newEnvSink(t *testing.T, name, conf string) plugin.Sink {
	t.Helper()
	env := plugin.NewEnvironment()
	if err := Register(env); err != nil {
		t.Fatal(err)
	}
	s, err := env.NewSink(name, []byte(conf), plugin.Resources{StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestNDJSONSink(t *testing.T) {
	tests := []struct {
		name     string
		conf     string
		batch    bool
		wantLine func(r plugin.Record) string
	}{
		{name: "envelopes", wantLine: func(r plugin.Record) string {
			return fmt.Sprintf(`{"id":%q,"dataset":"job-ads","key":"","seq":%d,"schema_version":0,"publisher":"","origin":"","published_at":"0001-01-01T00:00:00Z","data":{"id":%q,"n":%d}}`, r.ID, r.Envelope.Seq, r.ID, r.Envelope.Seq-1)
		}},
		{name: "data only", conf: "data_only: true\nsync_every: 3", wantLine: func(r plugin.Record) string {
			return fmt.Sprintf(`{"id":%q,"n":%d}`, r.ID, r.Envelope.Seq-1)
		}},
		{name: "data only, batches", conf: "data_only: true", batch: true, wantLine: func(r plugin.Record) string {
			return fmt.Sprintf(`{"id":%q,"n":%d}`, r.ID, r.Envelope.Seq-1)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "out", "records.ndjson")
			ctx := context.Background()
			rs := records(5)
			// Two runs append to the same file, as a restarted connector does.
			for run := range 2 {
				s := newEnvSink(t, NDJSONName, fmt.Sprintf("path: %s\n%s", path, tt.conf))
				if err := s.Write(ctx, rs[0]); !errors.Is(err, plugin.ErrNotConnected) {
					t.Fatalf("Write before Connect = %v", err)
				}
				if err := s.Connect(ctx); err != nil {
					t.Fatal(err)
				}
				part := rs[run*3 : min(len(rs), run*3+3)]
				if tt.batch {
					if err := s.(plugin.BatchSink).WriteBatch(ctx, part); err != nil {
						t.Fatal(err)
					}
				} else {
					for _, r := range part {
						if err := s.Write(ctx, r); err != nil {
							t.Fatal(err)
						}
					}
				}
				if err := s.Close(ctx); err != nil {
					t.Fatal(err)
				}
				if err := s.Write(ctx, rs[0]); !errors.Is(err, ErrClosed) {
					t.Fatalf("Write after Close = %v", err)
				}
			}
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			got := lines(t, b)
			if len(got) != len(rs) {
				t.Fatalf("%d lines, want %d:\n%s", len(got), len(rs), b)
			}
			for i, r := range rs {
				if want := tt.wantLine(r); got[i] != want {
					t.Errorf("line %d:\n got %s\nwant %s", i+1, got[i], want)
				}
			}
		})
	}
}

func TestSyncEvery(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.ndjson")
	s, err := NewNDJSON(Config{Path: path, SyncEvery: 3})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := s.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	for i, r := range records(4) {
		if err := s.Write(ctx, r); err != nil {
			t.Fatal(err)
		}
		if want := (i + 1) % 3; s.unsynced != want {
			t.Fatalf("after %d records: %d unsynced, want %d", i+1, s.unsynced, want)
		}
		// Written to the file at once, synced or not.
		b, _ := os.ReadFile(path)
		if n := len(lines(t, b)); n != i+1 {
			t.Fatalf("after %d writes the file has %d lines", i+1, n)
		}
	}
}

func TestBadRecords(t *testing.T) {
	var buf bytes.Buffer
	s := NewStdout(&buf, StdoutConfig{DataOnly: true})
	err := s.Write(context.Background(), plugin.Record{ID: "x", Data: json.RawMessage(`{"broken"`)})
	if !errors.Is(err, ErrBadRecord) || !plugin.IsPermanent(err) {
		t.Fatalf("Write = %v, want permanent ErrBadRecord", err)
	}
	err = s.WriteBatch(context.Background(), []plugin.Record{{ID: "ok", Data: json.RawMessage(`{}`)}, {ID: "x", Data: json.RawMessage(`nope`)}})
	if !errors.Is(err, ErrBadRecord) || buf.Len() != 0 {
		t.Fatalf("WriteBatch = %v, wrote %q; want nothing written", err, buf.String())
	}
}

func TestStdoutSink(t *testing.T) {
	var buf bytes.Buffer
	s := NewStdout(&buf, StdoutConfig{})
	ctx := context.Background()
	if err := s.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	// A record on its way in has no envelope: one is built from its fields.
	if err := s.Write(ctx, plugin.Record{Dataset: "taxonomy", ID: "c1", Data: json.RawMessage(`{"label": "Kock"}`)}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	var env wire.Envelope
	if err := json.Unmarshal(buf.Bytes(), &env); err != nil {
		t.Fatal(err)
	}
	if env.ID != "c1" || env.Dataset != "taxonomy" || string(env.Data) != `{"label":"Kock"}` || !strings.HasSuffix(buf.String(), "}\n") {
		t.Fatalf("line = %q", buf.String())
	}
}

func TestConfigErrors(t *testing.T) {
	env := plugin.NewEnvironment()
	if err := Register(env); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, sink, conf string }{
		{"no path", NDJSONName, "data_only: true"},
		{"unknown field", NDJSONName, "path: x.ndjson\nfsync: true"},
		{"negative sync_every", NDJSONName, "path: x.ndjson\nsync_every: -2"},
		{"stdout unknown field", StdoutName, "path: x.ndjson"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := env.NewSink(tt.sink, []byte(tt.conf), plugin.Resources{}); !errors.Is(err, plugin.ErrInvalidConfig) {
				t.Fatalf("err = %v, want ErrInvalidConfig", err)
			}
		})
	}
	if err := Register(env); err == nil {
		t.Fatal("registering twice succeeded")
	}
}
