package problem

import (
	"net/http"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
)

// Batch is the answer to an NDJSON batch on the hub's API and on the
// sidecar alike: how many lines had each outcome, and every line's result.
//
// A batch is not all or nothing: each line is checked and stored on its
// own, in order, and has its own outcome. JetStream cannot store thousands
// of records under different keys atomically, so an all-or-nothing batch
// would only pretend (a storage fault halfway leaves half stored) and would
// have to hold or spool the whole body before storing the first line.
// Instead a client fixes the refused lines and sends them again; with
// record ids from the content (?id_from=) it may resend the whole batch,
// and every line already stored answers duplicate.
type Batch struct {
	Dataset string `json:"dataset"`
	// Counts is the number of lines per outcome.
	Counts  map[wire.Status]int `json:"counts"`
	Results []LineResult        `json:"results"`
}

// LineResult is the outcome of one line of a batch (Line counts from 1,
// blank lines included) or of a single record (Line 0).
type LineResult struct {
	Line       int              `json:"line,omitempty"`
	ID         string           `json:"id,omitempty"`
	Status     wire.Status      `json:"status"`
	Code       wire.Code        `json:"code,omitempty"`
	Key        string           `json:"key,omitempty"`
	Seq        uint64           `json:"seq,omitempty"`
	Error      string           `json:"error,omitempty"`
	Violations []wire.Violation `json:"violations,omitempty"`
	Warnings   []wire.Violation `json:"warnings,omitempty"`
}

// ResultOf is the line result of a hub reply.
func ResultOf(line int, r wire.Reply) LineResult {
	return LineResult{Line: line, ID: r.ID, Status: r.Status, Code: r.Code, Key: r.Key, Seq: r.Seq, Error: r.Error, Violations: r.Violations, Warnings: r.Warnings}
}

// Add appends a line's result and counts it.
func (b *Batch) Add(r LineResult) {
	if b.Counts == nil {
		b.Counts = map[wire.Status]int{}
	}
	b.Counts[r.Status]++
	b.Results = append(b.Results, r)
}

// Refused is the number of lines neither stored, duplicate nor queued.
func (b *Batch) Refused() int {
	n := 0
	for s, c := range b.Counts {
		if !s.OK() {
			n += c
		}
	}
	return n
}

// worse orders refusals for a batch's overall status: a client that can
// retry (unavailable, rate limited) must see it first.
var worse = []wire.Status{wire.StatusUnavailable, wire.StatusRateLimited, wire.StatusForbidden,
	wire.StatusUnknownDataset, wire.StatusRetired, wire.StatusConflict, wire.StatusTooLarge, wire.StatusRejected}

// Write answers a batch: 200 when every line is stored or duplicate, 202
// when some are queued and none refused, and otherwise a problem document
// with the status of the most urgent refusal that still carries every
// line's result.
func (b *Batch) Write(w http.ResponseWriter, r *http.Request) error {
	if b.Counts == nil {
		b.Counts = map[wire.Status]int{}
	}
	if b.Refused() == 0 {
		status := http.StatusOK
		if b.Counts[wire.StatusQueued] > 0 {
			status = http.StatusAccepted
		}
		return WriteJSON(w, status, b)
	}
	var p *Problem
	for _, s := range worse {
		if b.Counts[s] > 0 {
			for _, res := range b.Results {
				if res.Status == s {
					p = Newf(res.Code, "%d of %d records refused; the others are stored or queued (see results)", b.Refused(), len(b.Results))
					break
				}
			}
			break
		}
	}
	if p == nil {
		p = Newf(wire.CodeInternal, "%d of %d records refused", b.Refused(), len(b.Results))
	}
	p.Batch = b
	Write(w, r, p)
	return nil
}
