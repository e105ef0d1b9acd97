package jobstream_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jobtech-dev/datahub/connector-kit/jobstream"
	"github.com/jobtech-dev/datahub/connector-kit/wire"
)

// TestWriteStreamOneEntryPerAd: 3 ads stored in 14 versions (updates and a
// removal) answer 3 entries, each the ad's latest state in the window, as
// JobStream does: a client applying them ends with the right ads.
func TestWriteStreamOneEntryPerAd(t *testing.T) {
	ads := realAds(t)
	t0 := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	var es []wire.Envelope
	seq := uint64(0)
	add := func(key string, data json.RawMessage, tomb bool) {
		seq++
		es = append(es, wire.Envelope{Seq: seq, Key: key, Data: data, Tombstone: tomb, PublishedAt: t0.Add(time.Duration(seq) * time.Minute)})
	}
	for round := range 4 {
		for i, ad := range ads {
			var m map[string]any
			_ = json.Unmarshal(ad, &m)
			m["headline"] = fmt.Sprintf("%s (v%d)", m["headline"], round+1)
			b, _ := json.Marshal(m)
			add(m["id"].(string), b, false)
			_ = i
		}
	}
	add("23187561", json.RawMessage(`{"id":"23187561","removed":true,"removed_date":"2024-03-01T12:14:00"}`), true)
	var last json.RawMessage
	_ = json.Unmarshal(ads[0], &map[string]any{})
	add("22884504", func() json.RawMessage {
		var m map[string]any
		_ = json.Unmarshal(ads[0], &m)
		m["headline"] = "final"
		last, _ = json.Marshal(m)
		return last
	}(), false)
	if len(es) != 14 {
		t.Fatalf("fixture has %d versions", len(es))
	}
	var buf bytes.Buffer
	n, err := jobstream.WriteStream(context.Background(), &buf, jobstream.StreamQuery{Since: t0}, envelopes(es, nil))
	if err != nil || n != 3 {
		t.Fatalf("WriteStream = %d, %v; want 3 entries for 3 ads: %.300s", n, err, buf.Bytes())
	}
	var got []map[string]any
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	var desc []string
	for _, ad := range got {
		desc = append(desc, fmt.Sprintf("%v:%v:%v", ad["id"], ad["removed"], ad["headline"]))
	}
	want := "23174210:false:" + headline(t, ads[1]) + " (v4) 23187561:true:<nil> 22884504:false:final"
	if strings.Join(desc, " ") != want {
		t.Errorf("got  %s\nwant %s", strings.Join(desc, " "), want)
	}
	// A window that ends before the last change answers the ad's state then.
	buf.Reset()
	q := jobstream.StreamQuery{Since: t0, Before: t0.Add(13 * time.Minute)}
	if n, err = jobstream.WriteStream(context.Background(), &buf, q, envelopes(es, nil)); err != nil || n != 3 {
		t.Fatalf("bounded window: %d, %v", n, err)
	}
	if !strings.Contains(buf.String(), "(v4)") || strings.Contains(buf.String(), `"removed":true`) {
		t.Errorf("bounded window should hold the v4 states and no removal: %.200s", buf.String())
	}
}

func headline(t *testing.T, ad json.RawMessage) string {
	var m map[string]any
	if err := json.Unmarshal(ad, &m); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprint(m["headline"])
}

func TestParseStreamQueryV2(t *testing.T) {
	v := url.Values{"updated-after": {"2024-03-01T10:00:00"}, "updated-before": {"2024-03-01T11:00:00"},
		"occupation-concept-id": {"a", "b"}, "location-concept-id": {"c"}}
	q, err := jobstream.ParseStreamQueryV2(v)
	if err != nil || q.Before.Sub(q.Since) != time.Hour || len(q.OccupationConceptIDs) != 2 || len(q.LocationConceptIDs) != 1 {
		t.Fatalf("got %+v, %v", q, err)
	}
	if _, err := jobstream.ParseStreamQueryV2(url.Values{"date": {"2024-03-01T10:00:00"}}); err == nil || !strings.Contains(err.Error(), "updated-after is required") {
		t.Errorf("v1's date on v2: %v", err)
	}
	if _, err := jobstream.ParseStreamQueryV2(url.Values{"updated-after": {"yesterday"}}); err == nil || !strings.Contains(err.Error(), "updated-after") {
		t.Errorf("bad date: %v", err)
	}
	if _, err := jobstream.ParseStreamQueryV2(url.Values{"updated-after": {"2024-03-01T10:00:00"}, "updated-before": {"2024-03-01T09:00:00"}}); err == nil {
		t.Error("an end before the start is accepted")
	}
}

func TestWriteSnapshotFilters(t *testing.T) {
	ads := realAds(t)
	var es []wire.Envelope
	for i, ad := range ads {
		es = append(es, wire.Envelope{Seq: uint64(i + 1), Key: fmt.Sprint(i), Data: ad})
	}
	q := jobstream.ParseSnapshotQuery(url.Values{"occupation-concept-id": {conceptID(t, ads[2], "occupation")}})
	var buf bytes.Buffer
	n, err := jobstream.WriteSnapshot(context.Background(), &buf, envelopes(es, nil), jobstream.WithFilter(q))
	if err != nil || n != 1 {
		t.Fatalf("filtered snapshot: %d, %v", n, err)
	}
}
