package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
)

// JetStream's answers are read as encoding/json would read them, whether
// the server wrote them from its template or not.
func TestParsePubAck(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		data   string
		status string
		want   pubAck
		err    string
	}{
		{data: `{"stream":"DS_jobads","seq":42}`, want: pubAck{stream: "DS_jobads", seq: 42}},
		{data: `{"stream":"DS_jobads","seq":7,"duplicate": true}`, want: pubAck{stream: "DS_jobads", seq: 7, duplicate: true}},
		{data: `{"stream":"DS_jobads","domain":"hub","seq":9}`, want: pubAck{stream: "DS_jobads", seq: 9}},
		{data: `{"stream":"DS_jobads","seq":8,"duplicate":false}`, want: pubAck{stream: "DS_jobads", seq: 8}},
		{data: `{"stream":"DS_jobads","seq":8,"duplicate" : true }`, want: pubAck{stream: "DS_jobads", seq: 8, duplicate: true}},
		{data: `{"stream":"DS_jobads","seq":012}`, err: "JetStream answer"},
		{data: `{"stream":"DS_x","seq":3,"batch":"b","count":2}`, want: pubAck{stream: "DS_x", seq: 3}},
		{data: `{"seq":5,"stream":"DS_jobads"}`, want: pubAck{stream: "DS_jobads", seq: 5}},
		{data: `{"error":{"code":503,"err_code":10077,"description":"maximum messages exceeded"}}`, err: "maximum messages exceeded"},
		{data: `{"stream":"DS_x","seq":0}`, err: "no sequence"},
		{data: `not json`, err: "JetStream answer"},
		{status: "503", err: nats.ErrNoResponders.Error()},
		{err: "empty"},
	} {
		m := &nats.Msg{Data: []byte(tc.data), Header: nats.Header{}}
		if tc.status != "" {
			m.Header.Set("Status", tc.status)
		}
		got := parsePubAck(m)
		if tc.err != "" {
			if got.err == nil || !bytes.Contains([]byte(got.err.Error()), []byte(tc.err)) {
				t.Errorf("%q: %+v, want an error saying %q", tc.data, got, tc.err)
			}
			continue
		}
		if got != tc.want {
			t.Errorf("%q: %+v, want %+v", tc.data, got, tc.want)
		}
	}
	if got := parsePubAck(&nats.Msg{Header: nats.Header{"Status": {"503"}}}); !errors.Is(got.err, nats.ErrNoResponders) {
		t.Errorf("no stream: %v", got.err)
	}
}

// An answer written directly is byte for byte what encoding/json writes.
func FuzzAppendReply(f *testing.F) {
	f.Add("22884504", "019ac2c0-7f3a-7b1e-9c4d-5e6f7a8b9c0d", "jobads", uint64(7), "")
	f.Add("<a & b>\u2028\x01\"\\", "id-1", "x", uint64(0), "")
	f.Add("caf\xe9", "", "jobads", uint64(1<<63), "rejected: /headline")
	f.Fuzz(func(t *testing.T, key, id, dataset string, seq uint64, errText string) {
		for _, st := range []wire.Status{wire.StatusStored, wire.StatusDuplicate} {
			r := wire.Reply{Status: st, ID: id, EnvelopeID: wire.EnvelopeID("hub", "board", id), Dataset: dataset, Key: key, Seq: seq, Error: errText}
			want, err := json.Marshal(r)
			if err != nil {
				t.Fatal(err)
			}
			if got := appendReply(nil, &r); !bytes.Equal(got, want) {
				t.Fatalf("appendReply:\n %s\nencoding/json:\n %s", got, want)
			}
		}
		// A batch's answer: the same replies, a refusal among them.
		rs := []wire.Reply{
			{Status: wire.StatusStored, ID: id, Dataset: dataset, Key: key, Seq: seq},
			{Status: wire.StatusRejected, Code: wire.CodeInvalid, Dataset: dataset, Error: errText, Violations: []wire.Violation{{Pointer: "/" + key, Keyword: "type", Message: errText}}},
			{Status: wire.StatusDuplicate, ID: id, Dataset: dataset, Seq: seq},
		}
		for n := 1; n <= len(rs); n++ {
			want, err := json.Marshal(wire.BatchReply{Replies: rs[:n]})
			if err != nil {
				t.Fatal(err)
			}
			if got := appendBatchReply(nil, rs[:n]); !bytes.Equal(got, want) {
				t.Fatalf("appendBatchReply:\n %s\nencoding/json:\n %s", got, want)
			}
		}
	})
}
