package integrity

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestCompare(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	all := func(first, last, msgs uint64) StreamState {
		return StreamState{FirstSeq: first, LastSeq: last, Msgs: msgs, Subjects: msgs, LastTime: now.Add(-time.Minute)}
	}
	kv := func(first, last, msgs, subjects uint64) StreamState {
		return StreamState{FirstSeq: first, LastSeq: last, Msgs: msgs, Subjects: subjects, PerSubject: true}
	}
	aged := func(first, last, msgs uint64, newest time.Time) StreamState {
		return StreamState{FirstSeq: first, LastSeq: last, Msgs: msgs, MaxAge: 24 * time.Hour, LastTime: newest}
	}
	ptr := func(s StreamState) *StreamState { return &s }
	for _, tc := range []struct {
		name    string
		r       StreamState
		c       *StreamState
		deleted []uint64
		want    string // kind from-to count; ";"-separated
	}{
		{"unchanged", all(1, 203, 203), ptr(all(1, 203, 203)), nil, ""},
		{"grown", all(1, 203, 203), ptr(all(1, 250, 250)), nil, ""},
		{"nothing recorded", StreamState{}, nil, nil, ""},
		{"gone", all(1, 203, 203), nil, nil, "stream-gone 1-203 203"},
		{"recreated empty", all(1, 203, 203), ptr(StreamState{}), nil, "tail-lost 1-203 203"},
		{"recreated and refilled", all(1, 203, 203), ptr(all(1, 5, 5)), nil, "tail-lost 6-203 198"},
		{"torn tail", all(1, 203, 203), ptr(all(1, 149, 149)), nil, "tail-lost 150-203 54"},
		{"first block gone", all(1, 203, 203), ptr(StreamState{FirstSeq: 204, LastSeq: 203}), nil, "head-lost 1-203 203"},
		{"head gone", all(1, 203, 203), ptr(all(51, 203, 153)), nil, "head-lost 1-50 50"},
		{"middle gone", all(1, 203, 203), ptr(all(1, 210, 200)), []uint64{20, 21, 22, 90, 91, 92, 93, 94, 95, 96}, "gap 20-22 3;gap 90-96 7"},
		{"middle gone, not listed", all(1, 203, 203), ptr(all(1, 203, 190)), nil, "gap 1-203 13"},
		{"earlier gaps kept", all(1, 203, 200), ptr(all(1, 210, 207)), []uint64{5, 6, 7}, ""},
		{"kv history trimmed", kv(1, 40, 12, 5), ptr(kv(20, 45, 8, 5)), nil, ""},
		{"kv keys lost", kv(1, 40, 12, 5), ptr(kv(41, 40, 0, 0)), nil, "keys-lost 1-40 5"},
		{"aged out", aged(1, 100, 100, now.Add(-48*time.Hour)), ptr(aged(101, 100, 0, time.Time{})), nil, ""},
		{"young ones gone", aged(1, 100, 100, now.Add(-time.Hour)), ptr(aged(101, 100, 0, time.Time{})), nil, "head-lost 1-100 0"},
		{"aged, tail torn", aged(1, 100, 100, now.Add(-time.Hour)), ptr(aged(1, 60, 60, now.Add(-2*time.Hour))), nil, "tail-lost 61-100 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			deleted := func() ([]uint64, error) {
				if tc.deleted == nil {
					return nil, errors.New("no details")
				}
				return tc.deleted, nil
			}
			var got []string
			for _, f := range compare("DS_jobads", tc.r, tc.c, now, deleted) {
				got = append(got, fmt.Sprintf("%s %d-%d %d", f.Kind, f.From, f.To, f.Count))
				if f.Dataset != "jobads" || f.ID == "" || f.Detail == "" {
					t.Errorf("finding %+v: dataset, id or detail missing", f)
				}
			}
			if strings.Join(got, ";") != tc.want {
				t.Fatalf("findings %q, want %q", strings.Join(got, ";"), tc.want)
			}
		})
	}
}

func TestRecordChecksum(t *testing.T) {
	t.Parallel()
	r := Record{Version: recordVersion, Generation: 7, Streams: map[string]StreamState{"DS_jobads": {FirstSeq: 1, LastSeq: 203, Msgs: 203}},
		Findings: []Finding{newFinding("KV_hub_actors", KindUnreadable, 3, 3, 1, "<damaged> & gone", time.Now())}}
	b, err := encodeRecord(r)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeRecord(b)
	if err != nil || got.Generation != 7 || got.Streams["DS_jobads"].LastSeq != 203 || len(got.Findings) != 1 || got.Findings[0].Bucket != "hub_actors" {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	for _, bad := range [][]byte{
		[]byte(strings.Replace(string(b), `"last_seq": 203`, `"last_seq": 204`, 1)),
		b[:len(b)/2],
		[]byte(`{}`),
	} {
		if _, err := decodeRecord(bad); !errors.Is(err, errBadRecord) {
			t.Errorf("damaged record %.40q… accepted: %v", bad, err)
		}
	}
	var env map[string]json.RawMessage
	if err := json.Unmarshal(b, &env); err != nil || env["sha256"] == nil {
		t.Fatalf("record file is not the documented envelope: %s", b)
	}
}
