package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/hub/internal/accessreq"
	"github.com/jobtech-dev/datahub/hub/internal/audit"
	"github.com/jobtech-dev/datahub/hub/internal/jobstore"
	"github.com/jobtech-dev/datahub/hub/internal/redrive"
	"github.com/jobtech-dev/datahub/internal/problem"
)

// Extras are the features other packages add to the admin API; a nil field
// leaves its routes out.
type Extras struct {
	// Redrive re-drives dead letters after a schema fix.
	Redrive *redrive.Service
	// Services is the Jobstore: descriptions of actors' digital services.
	Services *jobstore.Store
	// Requests are actors' requests for access to datasets.
	Requests *accessreq.Service
}

func (a *api) extraRoutes() []Route {
	admin := adminRoute
	var rs []Route
	if a.Extra.Redrive != nil {
		rs = append(rs, admin("POST /api/v1/datasets/{dataset}/deadletters/{seq}/redrive", a.redrive))
	}
	if a.Extra.Services != nil {
		rs = append(rs,
			admin("GET /api/v1/services", a.listServices, "q", "category", "dataset", "actor"),
			admin("GET /api/v1/services/{actor}/{service}", a.getService),
			admin("PUT /api/v1/services/{actor}/{service}", a.putService),
			admin("DELETE /api/v1/services/{actor}/{service}", a.deleteService))
	}
	if a.Extra.Requests != nil {
		rs = append(rs,
			admin("GET /api/v1/access-requests", a.listRequests, "state", "actor"),
			admin("GET /api/v1/access-requests/{id}", a.getRequest),
			admin("POST /api/v1/access-requests/{id}/approve", a.approveRequest),
			admin("POST /api/v1/access-requests/{id}/decline", a.declineRequest))
	}
	return rs
}

// redrive sends a dead letter through the ingest path again, as its
// original publisher's record.
func (a *api) redrive(w http.ResponseWriter, r *http.Request) error {
	d, err := a.dataset(r)
	if err != nil {
		return err
	}
	seq, err := strconv.ParseUint(r.PathValue("seq"), 10, 64)
	if err != nil || seq == 0 {
		return problem.New(wire.CodeNotFound, fmt.Sprintf("%s is not a dead-letter sequence", quoteShort(r.PathValue("seq"))))
	}
	res, err := a.Extra.Redrive.Redrive(r.Context(), d.Name, seq, audit.ActorAdmin)
	switch {
	case errors.Is(err, redrive.ErrNotFound):
		return problem.New(wire.CodeNotFound, err.Error())
	case errors.Is(err, redrive.ErrNotRedrivable), errors.Is(err, redrive.ErrAlreadyRedriven):
		return problem.New(wire.CodeConflict, err.Error())
	case err != nil && res.DeadLetter == 0:
		return err
	}
	status := problem.OutcomeStatus(res.Reply.Status)
	if !res.Stored() {
		code := res.Reply.Code
		if code == "" {
			code = wire.CodeInvalid
		}
		p := problem.New(code, "dead letter "+strconv.FormatUint(seq, 10)+" refused again: "+res.Reply.Error)
		p.Violations = res.Reply.Violations
		p.Status = status
		return p
	}
	return problem.WriteJSON(w, status, res)
}
