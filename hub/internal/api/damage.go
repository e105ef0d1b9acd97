package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/hub/internal/audit"
	"github.com/jobtech-dev/datahub/hub/internal/integrity"
	"github.com/jobtech-dev/datahub/hub/internal/jsread"
	"github.com/jobtech-dev/datahub/internal/problem"
)

// UnreadableTrailer is the HTTP trailer of a record read (NDJSON) that passed
// over stored records the hub could not load (damaged on disk): their
// stream sequences, as ranges ("101, 150-152"). Every readable record is in
// the body; the hub also reports the loss (`GET /api/v1/damage`).
const UnreadableTrailer = "Hub-Unreadable"

// DamageReport answers GET /api/v1/damage.
type DamageReport struct {
	// Status is "ok", or "degraded" while findings are not acknowledged.
	Status   string              `json:"status"`
	Findings []integrity.Finding `json:"findings"`
}

// AckDamageRequest acknowledges the data loss found in a dataset, bucket or
// stream, saying what was done about it.
type AckDamageRequest struct {
	Reason string `json:"reason"`
}

// AckDamageResult answers an acknowledgement.
type AckDamageResult struct {
	Acknowledged []integrity.Finding `json:"acknowledged"`
	// Status is the hub's status after it: "ok" or "degraded".
	Status string `json:"status"`
}

// maxReasonLen bounds AckDamageRequest.Reason.
const maxReasonLen = 1024

func (a *api) damageStatus() (string, []integrity.Finding) {
	if a.Damage == nil {
		return "ok", []integrity.Finding{}
	}
	f := a.Damage.Findings()
	if len(f) == 0 {
		return "ok", []integrity.Finding{}
	}
	return "degraded", f
}

func (a *api) listDamage(w http.ResponseWriter, r *http.Request) error {
	status, f := a.damageStatus()
	return problem.WriteJSON(w, http.StatusOK, DamageReport{Status: status, Findings: f})
}

func (a *api) ackDamage(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	var req AckDamageRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	req.Reason = strings.TrimSpace(req.Reason)
	switch {
	case req.Reason == "":
		return problem.New(wire.CodeBadRequest, "reason is required: say what was done about the loss (restored from a backup, publishers asked to resend, accepted as lost)")
	case len(req.Reason) > maxReasonLen:
		return problem.New(wire.CodeBadRequest, fmt.Sprintf("reason is longer than %d bytes", maxReasonLen))
	}
	if a.Damage == nil {
		return problem.New(wire.CodeNotFound, fmt.Sprintf("no data loss to acknowledge about %q", name))
	}
	acked, err := a.Damage.Acknowledge(r.Context(), name, audit.ActorAdmin, req.Reason)
	if errors.Is(err, integrity.ErrNothingToAcknowledge) {
		return problem.New(wire.CodeNotFound, err.Error()+" (see GET /api/v1/damage)")
	}
	if err != nil {
		return err
	}
	status, _ := a.damageStatus()
	return problem.WriteJSON(w, http.StatusOK, AckDamageResult{Acknowledged: acked, Status: status})
}

// degradedProblem is the readiness answer while data loss is not
// acknowledged: a problem document with the findings.
type degradedProblem struct {
	*problem.Problem
	Damage []integrity.Finding `json:"damage"`
}

// writeDegraded answers /readyz with 503 and the findings.
func (a *api) writeDegraded(w http.ResponseWriter, r *http.Request, d *integrity.DegradedError) error {
	p := problem.New(wire.CodeUnavailable, d.Error())
	p.Title, p.Instance = "Hub degraded: stored data lost", r.URL.Path
	w.Header().Set("Content-Type", problem.ContentType)
	w.WriteHeader(http.StatusServiceUnavailable)
	return json.NewEncoder(w).Encode(degradedProblem{Problem: p, Damage: d.Findings})
}

// reportUnreadable tells the damage record about records a read could not
// load; the request may be gone by then.
func (a *api) reportUnreadable(r *http.Request) func(stream string, seqs []uint64) {
	return func(stream string, seqs []uint64) {
		if a.Damage != nil {
			a.Damage.Report(context.WithoutCancel(r.Context()), stream, seqs)
		}
	}
}

// unreadableEnd ends an NDJSON read that passed over unreadable records:
// the body holds every readable one; the trailer names the others.
func (a *api) unreadableEnd(w http.ResponseWriter, out *ndjsonWriter, ue *jsread.UnreadableError) error {
	out.start()
	if err := out.flush(); err != nil {
		return nil // the client left
	}
	w.Header().Set(UnreadableTrailer, jsread.FormatSeqs(ue.Seqs, 0))
	a.log.Error("read passed over unreadable records", "stream", ue.Stream, "sequences", jsread.FormatSeqs(ue.Seqs, 20), "err", ue)
	return nil
}
