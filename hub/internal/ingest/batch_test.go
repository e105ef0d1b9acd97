package ingest_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/hub/internal/store"
	"github.com/jobtech-dev/datahub/internal/publish"
)

// A batch request is judged record by record, in order, each with the
// answer it would get alone: stored, rejected (and dead-lettered),
// duplicate, a bad record id; the stored ones keep the batch's order.
func TestBatchAnswersEachRecord(t *testing.T) {
	t.Parallel()
	n, p, _ := setup(t)
	ad := string(example(t, "jobads", "valid", "small-ad.json"))
	version := func(i int) []byte {
		return []byte(strings.Replace(ad, `"headline":"Java-utvecklare"`, fmt.Sprintf(`"headline":"v%03d"`, i), 1))
	}
	recs := []publish.Record{
		{ID: "b-1", Data: version(1)},
		{Data: example(t, "jobads", "invalid", "headline-not-string.json")},
		{ID: "b-1", Data: version(1)}, // the same record again: a retry
		{ID: "b-3", Data: []byte("{\"id\":\"x\"\n,\"headline\":1}")},
		{ID: "b-4", Data: version(4)},
		{Data: []byte(`{"id": "1", headline`)},
		{ID: "b-6", Data: version(6)},
	}
	f, err := p.SendBatch(ctx(t), "jobads", recs)
	if err != nil {
		t.Fatal(err)
	}
	replies, err := f.Results(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	want := []wire.Status{wire.StatusStored, wire.StatusRejected, wire.StatusDuplicate, wire.StatusRejected, wire.StatusStored, wire.StatusRejected, wire.StatusStored}
	if len(replies) != len(want) {
		t.Fatalf("%d replies for %d records", len(replies), len(want))
	}
	for i, r := range replies {
		if r.Status != want[i] {
			t.Errorf("record %d: %+v, want %s", i+1, r, want[i])
		}
	}
	if replies[0].ID != "b-1" || replies[0].Key == "" || replies[0].Seq == 0 || replies[2].Seq != replies[0].Seq {
		t.Errorf("stored and duplicate: %+v / %+v", replies[0], replies[2])
	}
	if v := replies[1].Violations; len(v) != 1 || v[0].Pointer != "/headline" {
		t.Errorf("the invalid record's report: %+v", v)
	}
	var got []string
	err = store.Read(ctx(t), n.JetStream(), "jobads", store.Position{}, store.ReadOptions{}, func(e wire.Envelope) error {
		var v struct{ Headline string }
		_ = json.Unmarshal(e.Data, &v)
		got = append(got, v.Headline+"/"+e.RecordID)
		return nil
	})
	if err != nil || strings.Join(got, ",") != "v001/b-1,v004/b-4,v006/b-6" {
		t.Fatalf("stored %v (%v), want the valid records once each, in order", got, err)
	}
	var dls []wire.DeadLetter
	_ = store.ReadDeadLetters(ctx(t), n.JetStream(), "jobads", 0, store.ReadOptions{}, func(d wire.DeadLetter) error {
		dls = append(dls, d)
		return nil
	})
	if len(dls) != 3 || dls[1].RecordID != "b-3" || !bytes.Equal(dls[1].Data, recs[3].Data) {
		t.Fatalf("dead letters %+v, want the three refused records", dls)
	}
}

// A batch whose framing cannot be read is refused whole, with a code and a
// reason, and nothing of it is stored or dead-lettered.
func TestBadBatchRefusedWhole(t *testing.T) {
	t.Parallel()
	n, _, nc := setup(t)
	ad := example(t, "jobads", "valid", "small-ad.json")
	good := wire.AppendBatchRecord(nil, "ok-1", ad)
	for _, tc := range []struct {
		name, count string
		body        []byte
		want        string
	}{
		{"count too high", "2", good, "1 records, but Hub-Batch says 2"},
		{"count zero", "0", good, "want 1 to 1024 records"},
		{"count not a number", "many", good, "want 1 to 1024"},
		{"length beyond the body", "1", []byte("5000 a\n" + string(ad) + "\n"), "5000 bytes and a newline do not follow"},
		{"no newline after the record", "1", bytes.TrimSuffix(good, []byte("\n")), "do not follow"},
		{"bad record id", "1", wire.AppendBatchRecord(nil, "a\x01b", ad), "record id"},
		{"not a length", "1", []byte("x1 a\n{}\n"), "is not a record length"},
		{"too many records", strconv.Itoa(wire.MaxBatchRecords + 1), bytes.Repeat([]byte("2\n{}\n"), wire.MaxBatchRecords+1), "want 1 to 1024"},
	} {
		m := &nats.Msg{Subject: wire.IngestSubject("jobads", "board"), Data: tc.body, Header: nats.Header{wire.HeaderBatch: {tc.count}}}
		resp, err := requestMsg(t, nc, m)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		var br wire.BatchReply
		if err := json.Unmarshal(resp.Data, &br); err != nil || br.Code != wire.CodeBadRequest || !strings.Contains(br.Error, tc.want) || br.Replies != nil {
			t.Errorf("%s: %s, want bad_request saying %q", tc.name, resp.Data, tc.want)
		}
	}
	if st, _ := store.DatasetStats(ctx(t), n.JetStream(), "jobads"); st.Records != 0 {
		t.Fatalf("%d records stored from unreadable batches", st.Records)
	}
	if c := n.IngestCounts(); c.Rejected != 0 || c.Stored != 0 {
		t.Fatalf("counts %+v after unreadable batches", c)
	}
}

// requestMsg sends m as a request from nc, whose inbox prefix is its actor's.
func requestMsg(t *testing.T, nc *nats.Conn, m *nats.Msg) (*nats.Msg, error) {
	t.Helper()
	resp, err := nc.RequestMsgWithContext(ctx(t), m)
	if errors.Is(err, nats.ErrNoResponders) {
		t.Fatal("no validator listening")
	}
	return resp, err
}

// The batch framing reads back what it writes, for any record and id.
func FuzzBatchFraming(f *testing.F) {
	f.Add([]byte(`{"id":"1"}`), "a-1", []byte("\n\n"), "")
	f.Add([]byte(""), "", []byte(`{"x":"12 y\n"}`), "z")
	f.Fuzz(func(t *testing.T, a []byte, aid string, b []byte, bid string) {
		if (aid != "" && !wire.ValidRecordID(aid)) || (bid != "" && !wire.ValidRecordID(bid)) {
			return
		}
		body := wire.AppendBatchRecord(wire.AppendBatchRecord(nil, aid, a), bid, b)
		var got []string
		err := wire.ReadBatch(body, 2, func(id string, data []byte) { got = append(got, id, string(data)) })
		if err != nil || len(got) != 4 || got[0] != aid || got[1] != string(a) || got[2] != bid || got[3] != string(b) {
			t.Fatalf("read back %q, %v", got, err)
		}
		// Any cut of the body is refused, never misread.
		for cut := 0; cut < len(body); cut++ {
			if err := wire.ReadBatch(body[:cut], 2, func(string, []byte) {}); err == nil {
				t.Fatalf("a body cut at %d of %d was read as a whole batch", cut, len(body))
			}
		}
	})
}
