package jobstream_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/jobtech-dev/datahub/connector-kit/jobstream"
	"github.com/jobtech-dev/datahub/connector-kit/jobstream/jobstreamtest"
	"github.com/jobtech-dev/datahub/connector-kit/plugin"
)

// dataDir is the repository's real JobTech data, relative to this package's folder.
const dataDir = "../../testdata/jobtech"

func realAds(t *testing.T) []json.RawMessage {
	t.Helper()
	ads, err := jobstreamtest.LoadAds(jobstreamtest.AdsFile(dataDir))
	if err != nil {
		t.Fatalf("load real ads: %v", err)
	}
	if len(ads) != 3 {
		t.Fatalf("want the 3 real ads, got %d", len(ads))
	}
	return ads
}

func newSource(t *testing.T, stateDir, conf string) plugin.Source {
	t.Helper()
	src, err := jobstream.NewSource([]byte(conf), plugin.Resources{StateDir: stateDir, Logger: nil})
	if err != nil {
		t.Fatalf("NewSource: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := src.Connect(ctx); err != nil {
		t.Fatalf("Connect: %v", err)
	}
	t.Cleanup(func() { src.Close(context.Background()) })
	return src
}

type read struct {
	rec plugin.Record
	ack plugin.AckFunc
}

// readOne reads one record, retrying through backoff errors, within 10 s.
func readOne(t *testing.T, src plugin.Source) read {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		rec, ack, err := src.Read(ctx)
		var be *plugin.BackoffError
		switch {
		case err == nil:
			return read{rec, ack}
		case errors.As(err, &be):
			continue
		default:
			t.Fatalf("Read: %v", err)
		}
	}
}

func ack(t *testing.T, r read, err error) {
	t.Helper()
	if aerr := r.ack(context.Background(), err); aerr != nil {
		t.Fatalf("ack: %v", aerr)
	}
}

func adID(t *testing.T, data json.RawMessage) (string, bool) {
	t.Helper()
	var f struct {
		ID      string `json:"id"`
		Removed bool   `json:"removed"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatalf("record data %s: %v", data, err)
	}
	return f.ID, f.Removed
}
