package api

import (
	"errors"
	"net/http"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/hub/internal/audit"
	"github.com/jobtech-dev/datahub/internal/problem"
)

// VerifyRequest is the optional body of POST /api/v1/audit/verify: an
// anchor to compare the log with instead of the hub's last one (an admin's
// copy, e.g. from another machine or from the journal).
type VerifyRequest struct {
	Anchor *audit.Anchor `json:"anchor"`
}

// SealRequest is the body of POST /api/v1/audit/seal.
type SealRequest struct {
	Reason string `json:"reason"`
}

// SealResult answers a seal: the seal entry, what it acknowledged, and the
// anchor taken right after it.
type SealResult struct {
	Seal         audit.Entry   `json:"seal"`
	Acknowledged audit.Report  `json:"acknowledged"`
	Anchor       *audit.Anchor `json:"anchor,omitempty"`
	AnchorError  string        `json:"anchor_error,omitempty"`
}

// verifyAudit checks the chain, and compares it with the anchor given, or
// else with the hub's last anchor.
func (a *api) verifyAudit(w http.ResponseWriter, r *http.Request) error {
	var opts []audit.VerifyOption
	if r.Method == http.MethodPost && r.ContentLength != 0 {
		var req VerifyRequest
		if err := decodeBody(r, &req); err != nil {
			return err
		}
		if req.Anchor != nil {
			opts = append(opts, audit.Against(*req.Anchor))
		}
	}
	if len(opts) == 0 && a.Anchors != nil {
		if last, ok := a.Anchors.Last(); ok {
			opts = append(opts, audit.Against(last))
		}
	}
	rep, err := a.Audit.Verify(r.Context(), opts...)
	if err != nil {
		return err
	}
	return problem.WriteJSON(w, http.StatusOK, rep)
}

// sealAudit acknowledges the log's present breaks with a signed seal entry
// and anchors the new head at once.
func (a *api) sealAudit(w http.ResponseWriter, r *http.Request) error {
	var req SealRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	var anchor *audit.Anchor
	if a.Anchors != nil {
		if last, ok := a.Anchors.Last(); ok {
			anchor = &last
		}
	}
	e, rep, err := a.Audit.Seal(r.Context(), req.Reason, audit.ActorAdmin, anchor)
	switch {
	case errors.Is(err, audit.ErrNoReason):
		return problem.New(wire.CodeBadRequest, `give "reason": why the break is acknowledged (it is kept in the seal entry)`)
	case errors.Is(err, audit.ErrNothingToSeal):
		p := problem.New(wire.CodeConflict, "nothing to seal: the audit log verifies intact")
		p.Title = "Nothing to seal"
		return p
	case err != nil:
		return err
	}
	res := SealResult{Seal: e, Acknowledged: rep}
	if a.Anchors != nil {
		if an, _, err := a.Anchors.Publish(r.Context()); err != nil {
			res.AnchorError = err.Error()
		} else {
			res.Anchor = &an
		}
	}
	return problem.WriteJSON(w, http.StatusCreated, res)
}

// lastAnchor is the hub's last anchor of the audit chain.
func (a *api) lastAnchor(w http.ResponseWriter, r *http.Request) error {
	if a.Anchors != nil {
		if last, ok := a.Anchors.Last(); ok {
			return problem.WriteJSON(w, http.StatusOK, last)
		}
	}
	return problem.New(wire.CodeNotFound, "no audit anchor yet: the log is empty")
}
