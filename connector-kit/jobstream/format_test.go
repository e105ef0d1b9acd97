package jobstream_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jobtech-dev/datahub/connector-kit/jobstream"
	"github.com/jobtech-dev/datahub/connector-kit/wire"
)

func TestAdFromEnvelopeRealAdsUnchanged(t *testing.T) {
	for _, ad := range realAds(t) {
		e := wire.Envelope{ID: "r1", Dataset: "jobads", Data: ad, PublishedAt: time.Now()}
		got, err := jobstream.AdFromEnvelope(e)
		if err != nil {
			t.Fatalf("AdFromEnvelope: %v", err)
		}
		if !bytes.Equal(got, ad) {
			t.Errorf("ad changed:\n got %.120s\nwant %.120s", got, ad)
		}
	}
}

func TestAdFromEnvelopeTombstones(t *testing.T) {
	ads := realAds(t)
	published := time.Date(2024, 1, 15, 9, 30, 0, 0, time.UTC) // 10:30 in Stockholm
	var full map[string]any
	if err := json.Unmarshal(ads[0], &full); err != nil {
		t.Fatal(err)
	}
	full["removed"] = true
	fullRemoved, _ := json.Marshal(full)

	tests := []struct {
		name string
		env  wire.Envelope
		want string
	}{
		{
			name: "hub tombstone",
			env:  wire.Envelope{Key: "22884504", Tombstone: true, Data: json.RawMessage(`{"id": "22884504", "removed": true, "removed_date": "2019-04-16T00:00:00"}`)},
			want: `{"id":"22884504","removed":true,"removed_date":"2019-04-16T00:00:00"}`,
		},
		{
			name: "no removed_date: the hub's publish time in Swedish time",
			env:  wire.Envelope{Key: "22884504", Tombstone: true, PublishedAt: published, Data: json.RawMessage(`{"id":"22884504","removed":true}`)},
			want: `{"id":"22884504","removed":true,"removed_date":"2024-01-15T10:30:00"}`,
		},
		{
			name: "removed:true without the envelope flag",
			env:  wire.Envelope{Key: "1", Data: json.RawMessage(`{"id":"1","removed":true,"removed_date":"2020-01-13T13:03:26"}`)},
			want: `{"id":"1","removed":true,"removed_date":"2020-01-13T13:03:26"}`,
		},
		{
			name: "numeric id of an old removal object",
			env:  wire.Envelope{Tombstone: true, Data: json.RawMessage(`{"id":8460292.0,"removed":true,"removed_date":"2020-01-13T13:03:26"}`)},
			want: `{"id":"8460292","removed":true,"removed_date":"2020-01-13T13:03:26"}`,
		},
		{
			name: "id from the key",
			env:  wire.Envelope{Key: "77", Tombstone: true, Data: json.RawMessage(`{"removed":true,"removed_date":"2020-01-13T13:03:26"}`)},
			want: `{"id":"77","removed":true,"removed_date":"2020-01-13T13:03:26"}`,
		},
		{
			name: "full ad marked removed keeps its concept ids",
			env:  wire.Envelope{Key: "22884504", Data: fullRemoved},
			want: `{"id":"22884504","removed":true,"removed_date":"2018-10-01T14:55:33","occupation":"` + conceptID(t, ads[0], "occupation") +
				`","occupation_group":"` + conceptID(t, ads[0], "occupation_group") +
				`","occupation_field":"` + conceptID(t, ads[0], "occupation_field") +
				`","municipality":"` + workplaceID(t, ads[0], "municipality_concept_id") +
				`","region":"` + workplaceID(t, ads[0], "region_concept_id") +
				`","country":"` + workplaceID(t, ads[0], "country_concept_id") + `"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := jobstream.AdFromEnvelope(tt.env)
			if err != nil {
				t.Fatalf("AdFromEnvelope: %v", err)
			}
			if string(got) != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func conceptID(t *testing.T, ad json.RawMessage, field string) string {
	t.Helper()
	var all map[string]json.RawMessage
	var c struct {
		ConceptID string `json:"concept_id"`
	}
	if json.Unmarshal(ad, &all) != nil || json.Unmarshal(all[field], &c) != nil || c.ConceptID == "" {
		t.Fatalf("ad has no %s concept id", field)
	}
	return c.ConceptID
}

func workplaceID(t *testing.T, ad json.RawMessage, field string) string {
	t.Helper()
	var a struct {
		W map[string]any `json:"workplace_address"`
	}
	json.Unmarshal(ad, &a)
	s, _ := a.W[field].(string)
	if s == "" {
		t.Fatalf("ad has no workplace_address.%s", field)
	}
	return s
}

func TestAdFromEnvelopeNotAnAd(t *testing.T) {
	for _, data := range []string{``, `[1]`, `"x"`, `{"removed":true}`, `{"removed": tru`} {
		_, err := jobstream.AdFromEnvelope(wire.Envelope{ID: "r9", Tombstone: true, Data: json.RawMessage(data)})
		if !errors.Is(err, jobstream.ErrNotAd) {
			t.Errorf("data %q: got %v, want ErrNotAd", data, err)
		}
	}
}

func TestParseDate(t *testing.T) {
	sthlm := jobstream.Location()
	tests := []struct {
		in   string
		want time.Time
	}{
		{"2021-01-11T10:00:00", time.Date(2021, 1, 11, 10, 0, 0, 0, sthlm)},
		{"2021-07-11T10:00:00", time.Date(2021, 7, 11, 8, 0, 0, 0, time.UTC)}, // summer time
		{"2021-01-11T10:00:00.250", time.Date(2021, 1, 11, 10, 0, 0, 250e6, sthlm)},
		{"2021-01-11T10:00:00Z", time.Date(2021, 1, 11, 10, 0, 0, 0, time.UTC)},
		{"2021-01-11T10:00:00+02:00", time.Date(2021, 1, 11, 8, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		got, err := jobstream.ParseDate("date", tt.in)
		if err != nil || !got.Equal(tt.want) {
			t.Errorf("ParseDate(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "yesterday", "2021-01-11", "2021-01-11 10:00:00", "11/01/2021", "2021-13-01T00:00:00"} {
		_, err := jobstream.ParseDate("updated-before-date", bad)
		if !errors.Is(err, jobstream.ErrInvalidDate) {
			t.Errorf("ParseDate(%q): got %v, want ErrInvalidDate", bad, err)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, "updated-before-date") || !strings.Contains(msg, "YYYY-MM-DDTHH:MM:SS") {
			t.Errorf("ParseDate(%q): error %q does not name the parameter and the format", bad, msg)
		}
	}
	if got := jobstream.FormatDate(time.Date(2021, 7, 11, 8, 0, 0, 0, time.UTC)); got != "2021-07-11T10:00:00" {
		t.Errorf("FormatDate = %s", got)
	}
}

func TestParseStreamQuery(t *testing.T) {
	tests := []struct {
		query   string
		wantErr error
		check   func(jobstream.StreamQuery) bool
	}{
		{"", jobstream.ErrMissingParameter, nil},
		{"date=", jobstream.ErrInvalidDate, nil},
		{"date=2020-05-03T10:00:00&updated-before-date=2020-05-03T09:00:00", jobstream.ErrInvalidDate, nil},
		{"date=2020-05-03T10:00:00&updated-before-date=soon", jobstream.ErrInvalidDate, nil},
		{"date=2020-05-03T10:00:00", nil, func(q jobstream.StreamQuery) bool { return q.Before.IsZero() }},
		{"date=2020-05-03T10%3A00%3A00&updated-before-date=2020-05-04T10:00:00&occupation-concept-id=a&occupation-concept-id=b&location-concept-id=c&q=ignored",
			nil, func(q jobstream.StreamQuery) bool {
				return q.Before.Sub(q.Since) == 24*time.Hour && len(q.OccupationConceptIDs) == 2 && len(q.LocationConceptIDs) == 1
			}},
	}
	for _, tt := range tests {
		v, _ := url.ParseQuery(tt.query)
		q, err := jobstream.ParseStreamQuery(v)
		if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
			t.Errorf("%q: err %v, want %v", tt.query, err, tt.wantErr)
			continue
		}
		if tt.check != nil && !tt.check(q) {
			t.Errorf("%q: got %+v", tt.query, q)
		}
	}
}

// envelopes yields es, then err if set.
func envelopes(es []wire.Envelope, err error) iter.Seq2[wire.Envelope, error] {
	return func(yield func(wire.Envelope, error) bool) {
		for _, e := range es {
			if !yield(e, nil) {
				return
			}
		}
		if err != nil {
			yield(wire.Envelope{}, err)
		}
	}
}

func TestWriteStreamWindowAndFilters(t *testing.T) {
	ads := realAds(t)
	t0 := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	es := []wire.Envelope{
		{Seq: 1, Key: "22884504", Data: ads[0], PublishedAt: t0.Add(-time.Second)},     // before the window
		{Seq: 2, Key: "23174210", Data: ads[1], PublishedAt: t0},                       // at date: in
		{Seq: 3, Key: "23187561", Data: ads[2], PublishedAt: t0.Add(30 * time.Minute)}, // in
		{Seq: 4, Key: "22884504", Tombstone: true, PublishedAt: t0.Add(59 * time.Minute), // in
			Data: json.RawMessage(`{"id":"22884504","removed":true,"removed_date":"2024-03-01T13:59:00"}`)},
		{Seq: 5, Key: "23174210", Data: ads[1], PublishedAt: t0.Add(time.Hour)}, // at updated-before-date: out
	}
	q := jobstream.StreamQuery{Since: t0, Before: t0.Add(time.Hour)}
	var buf bytes.Buffer
	n, err := jobstream.WriteStream(context.Background(), &buf, q, envelopes(es, nil))
	if err != nil || n != 3 {
		t.Fatalf("WriteStream = %d, %v; want 3", n, err)
	}
	var got []json.RawMessage
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("not a JSON array: %v", err)
	}
	var ids []string
	for _, ad := range got {
		id, removed := adID(t, ad)
		ids = append(ids, fmt.Sprintf("%s/%v", id, removed))
	}
	if want := "23174210/false 23187561/false 22884504/true"; strings.Join(ids, " ") != want {
		t.Errorf("got %v, want %s", ids, want)
	}
	if !bytes.Equal(got[0], ads[1]) {
		t.Errorf("ad bytes changed on the way out")
	}

	// Occupation filter: only ads[1]'s occupation; the tombstone carries no
	// concept ids, so it passes.
	q.OccupationConceptIDs = []string{conceptID(t, ads[1], "occupation")}
	buf.Reset()
	if n, err = jobstream.WriteStream(context.Background(), &buf, q, envelopes(es, nil)); err != nil || n != 2 {
		t.Fatalf("filtered WriteStream = %d, %v; want 2: %s", n, err, buf.Bytes())
	}
	q.OccupationConceptIDs = nil
	q.LocationConceptIDs = []string{"no-such-place"}
	buf.Reset()
	if n, _ = jobstream.WriteStream(context.Background(), &buf, q, envelopes(es, nil)); n != 1 || buf.String()[:7] != `[{"id":` {
		t.Errorf("location filter kept %d: %s", n, buf.Bytes())
	}
}

func TestWriteStreamErrorLeavesArrayOpen(t *testing.T) {
	ads := realAds(t)
	boom := errors.New("hub went away")
	var buf bytes.Buffer
	n, err := jobstream.WriteStream(context.Background(), &buf, jobstream.StreamQuery{},
		envelopes([]wire.Envelope{{Data: ads[0]}}, boom))
	// The first pass (which notes each ad's latest change) meets the error
	// before anything is written.
	if !errors.Is(err, boom) || n != 0 {
		t.Fatalf("got %d, %v", n, err)
	}
	if json.Valid(buf.Bytes()) {
		t.Errorf("a failed answer must not be a valid array: %.40s…", buf.Bytes())
	}
}

func TestWriteSnapshotSkipsTombstones(t *testing.T) {
	ads := realAds(t)
	es := []wire.Envelope{
		{Key: "22884504", Data: ads[0]},
		{Key: "23174210", Tombstone: true, Data: json.RawMessage(`{"id":"23174210","removed":true}`)},
		{Key: "23187561", Data: ads[2]},
	}
	var buf bytes.Buffer
	n, err := jobstream.WriteSnapshot(context.Background(), &buf, envelopes(es, nil))
	if err != nil || n != 2 {
		t.Fatalf("WriteSnapshot = %d, %v", n, err)
	}
	var got []json.RawMessage
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil || !bytes.Equal(got[1], ads[2]) {
		t.Fatalf("bad snapshot (%v): %.80s", err, buf.Bytes())
	}
	buf.Reset()
	if n, err = jobstream.WriteSnapshot(context.Background(), &buf, envelopes(nil, nil)); n != 0 || err != nil || buf.String() != "[]" {
		t.Errorf("empty snapshot = %q, %d, %v", buf.String(), n, err)
	}
}
