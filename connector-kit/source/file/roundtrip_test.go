package file_test

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
	filesink "github.com/jobtech-dev/datahub/connector-kit/sink/file"
	filesource "github.com/jobtech-dev/datahub/connector-kit/source/file"
	"github.com/jobtech-dev/datahub/connector-kit/wire"
)

// pump is the smallest runner: read every record, write it to the sink,
// ack it with the sink's answer.
func pump(t *testing.T, src plugin.Source, sink plugin.Sink) []plugin.Record {
	t.Helper()
	ctx := context.Background()
	if err := src.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	if err := sink.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	var got []plugin.Record
	for {
		r, ack, err := src.Read(ctx)
		if errors.Is(err, plugin.ErrEndOfInput) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		werr := sink.Write(ctx, r)
		if err := ack(ctx, werr); err != nil {
			t.Fatal(err)
		}
		if werr != nil {
			t.Fatal(werr)
		}
		got = append(got, r)
	}
	if err := src.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := sink.Close(ctx); err != nil {
		t.Fatal(err)
	}
	return got
}

func fileLines(t *testing.T, path string) [][]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out [][]byte
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if l := bytes.TrimSpace(sc.Bytes()); len(l) > 0 {
			out = append(out, bytes.Clone(l))
		}
	}
	return out
}

func TestRoundTripRealAds(t *testing.T) {
	ads := filepath.Join("..", "..", "..", "testdata", "jobtech", "job-ads.ndjson")
	want := fileLines(t, ads)

	env := plugin.NewEnvironment()
	for _, reg := range []func(*plugin.Environment) error{filesource.Register, filesink.Register} {
		if err := reg(env); err != nil {
			t.Fatal(err)
		}
	}
	newSource := func(conf string) plugin.Source {
		src, err := env.NewSource("ndjson_file", []byte(conf), plugin.Resources{StateDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		return src
	}
	newSink := func(conf string) plugin.Sink {
		s, err := env.NewSink("ndjson_file", []byte(conf), plugin.Resources{StateDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	out := t.TempDir()

	// ads → data-only copy: the same records, compacted.
	copyPath := filepath.Join(out, "copy.ndjson")
	first := pump(t, newSource(fmt.Sprintf("path: %q\ndataset: job-ads", ads)), newSink(fmt.Sprintf("path: %q\ndata_only: true\nsync_every: 2", copyPath)))
	if got := fileLines(t, copyPath); len(got) != len(want) {
		t.Fatalf("copy has %d lines, want %d", len(got), len(want))
	} else {
		for i := range want {
			if !bytes.Equal(got[i], compact(t, want[i])) {
				t.Fatalf("line %d differs", i+1)
			}
		}
	}

	// copy → envelopes: each line is an envelope carrying the ad and the
	// id the source gave it.
	envPath := filepath.Join(out, "envelopes.ndjson")
	second := pump(t, newSource(fmt.Sprintf("path: %q\ndataset: job-ads\nid_from: /id", copyPath)), newSink(fmt.Sprintf("path: %q", envPath)))
	lines := fileLines(t, envPath)
	if len(lines) != len(first) || len(second) != len(first) {
		t.Fatalf("%d envelopes, %d records, want %d", len(lines), len(second), len(first))
	}
	for i, l := range lines {
		var e wire.Envelope
		if err := json.Unmarshal(l, &e); err != nil {
			t.Fatal(err)
		}
		var ad struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(e.Data, &ad); err != nil {
			t.Fatal(err)
		}
		if e.Dataset != "job-ads" || !strings.HasPrefix(e.ID, "job-ads:"+ad.ID+":") || e.ID != second[i].ID || !bytes.Equal(e.Data, compact(t, first[i].Data)) {
			t.Fatalf("envelope %d: id %q dataset %q ad %q", i, e.ID, e.Dataset, ad.ID)
		}
	}

	// envelopes → records again, with the ad's id taken from inside the
	// envelope: the same ad names the id, and the other bytes (the
	// envelope around it) make it another version.
	third := pump(t, newSource(fmt.Sprintf("path: %q\ndataset: job-ads\nid_from: /data/id", envPath)), filesink.NewStdout(&bytes.Buffer{}, filesink.StdoutConfig{}))
	for i := range third {
		ad := strings.Split(second[i].ID, ":")[1]
		if !strings.HasPrefix(third[i].ID, "job-ads:"+ad+":") || third[i].ID == second[i].ID {
			t.Fatalf("record %d: id %q, want job-ads:%s:<another hash>", i, third[i].ID, ad)
		}
	}
}

func compact(t *testing.T, b []byte) []byte {
	t.Helper()
	var c bytes.Buffer
	if err := json.Compact(&c, b); err != nil {
		t.Fatal(err)
	}
	return c.Bytes()
}
