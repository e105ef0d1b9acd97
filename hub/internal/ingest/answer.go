package ingest

import (
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/nats-io/nats.go"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
)

// answer counts j's outcome, tells the Observer, and answers its publisher:
// a record alone at once, a record of a batch when the batch's last outcome
// is known, a federated record through its link's done.
func (s *Service) answer(j *job) {
	switch {
	case j.reply.Status == wire.StatusStored:
		s.stored.Add(1)
	case j.reply.Status == wire.StatusDuplicate:
		s.dups.Add(1)
	case j.reply.Status == wire.StatusConflict:
		s.conflicts.Add(1)
	case j.rejected:
		s.rejected.Add(1)
	default:
		s.unavailable.Add(1)
	}
	if !j.at.IsZero() { // a publisher's record (a federated one has no arrival time)
		took := time.Since(j.at)
		s.localRecords.Add(1)
		s.localWait.Add(int64(took))
		if o := s.opts.Observer; o != nil {
			reason := ""
			if len(j.reply.Violations) > 0 {
				reason = j.reply.Violations[0].Keyword
			}
			o.ObserveRecord(j.reply.Dataset, j.reply.Status, reason, took)
		}
	}
	if j.fed != nil {
		j.fed.done(j.reply)
		return
	}
	if b := j.batch; b != nil {
		b.replies[j.index] = j.reply
		if b.left.Add(-1) == 0 {
			s.send(b.msg, j.actor, func(buf []byte) []byte { return appendBatchReply(buf, b.replies) })
		}
		return
	}
	s.send(j.msg, j.actor, func(buf []byte) []byte { return appendReply(buf, &j.reply) })
}

// answerBadBatch answers a batch request that could not be read.
func (s *Service) answerBadBatch(m *nats.Msg, err error) {
	s.log.Debug("unreadable ingest batch", "subject", m.Subject, "err", err)
	_, actor, _ := wire.ParseIngestSubject(m.Subject)
	s.send(m, actor, func(buf []byte) []byte {
		out, _ := json.Marshal(wire.BatchReply{Code: wire.CodeBadRequest, Error: err.Error()})
		return append(buf, out...)
	})
}

// send answers request m of actor with what encode writes, if m asked for
// an answer on a reply subject in actor's inbox.
func (s *Service) send(m *nats.Msg, actor string, encode func([]byte) []byte) {
	if m.Reply == "" {
		return
	}
	if actor == "" || !wire.ReplyAllowed(actor, m.Reply) {
		s.log.Warn("answer not sent: reply subject outside the publisher's inbox", "subject", m.Subject, "reply", m.Reply)
		return
	}
	bp, _ := s.replyBufs.Get().(*[]byte)
	if bp == nil {
		bp = new([]byte)
	}
	b := encode((*bp)[:0])
	if err := s.nc.Publish(m.Reply, b); err != nil {
		s.log.Warn("answer publisher", "subject", m.Subject, "err", err)
	}
	if cap(b) <= 64<<10 {
		*bp = b
		s.replyBufs.Put(bp)
	}
}

// appendBatchReply appends the answer of a batch request, as
// encoding/json would write wire.BatchReply{Replies: rs}, each reply
// through appendReply (a batch of 256 records was 256 replies through
// reflection, and one more copy of them all).
func appendBatchReply(b []byte, rs []wire.Reply) []byte {
	b = append(b, `{"replies":[`...)
	for i := range rs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendReply(b, &rs[i])
	}
	return append(b, ']', '}')
}

// appendReply appends r as JSON: the answer of a stored record or a
// duplicate written directly, as encoding/json would write it; any other
// answer through encoding/json.
func appendReply(b []byte, r *wire.Reply) []byte {
	if r.Code != "" || r.Error != "" || r.Violations != nil || r.Warnings != nil || !plainJSON(r.ID) || !plainJSON(r.EnvelopeID) || !plainJSON(r.Dataset) {
		out, _ := json.Marshal(r)
		return append(b, out...)
	}
	b = append(b, `{"status":"`...)
	b = append(b, r.Status...)
	if r.ID != "" {
		b = append(b, `","id":"`...)
		b = append(b, r.ID...)
	}
	if r.EnvelopeID != "" {
		b = append(b, `","envelope_id":"`...)
		b = append(b, r.EnvelopeID...)
	}
	b = append(b, `","dataset":"`...)
	b = append(b, r.Dataset...)
	b = append(b, '"')
	if r.Key != "" {
		b = append(b, `,"key":`...)
		b = appendJSONString(b, r.Key)
	}
	if r.Seq != 0 {
		b = append(b, `,"seq":`...)
		b = strconv.AppendUint(b, r.Seq, 10)
	}
	return append(b, '}')
}

// plainJSON reports whether s needs no escaping in a JSON string (record
// ids, envelope ids and dataset names are printable ASCII, but say so).
func plainJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' || c > '~' || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

// appendJSONString appends s as a JSON string, escaped as encoding/json
// escapes it (HTML characters, U+2028 and U+2029 included; invalid UTF-8
// becomes U+FFFD), so the answer's bytes do not depend on the path that
// wrote them.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= ' ' && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
