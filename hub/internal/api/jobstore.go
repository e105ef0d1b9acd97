package api

import (
	"errors"
	"net/http"
	"strings"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/hub/internal/accessreq"
	"github.com/jobtech-dev/datahub/hub/internal/audit"
	"github.com/jobtech-dev/datahub/hub/internal/jobstore"
	"github.com/jobtech-dev/datahub/internal/problem"
)

// ServiceRequest is a service description as PUT on the API; the actor and
// the name come from the path.
type ServiceRequest struct {
	Title       string   `json:"title"`
	Description string   `json:"description"`
	Category    string   `json:"category"`
	URL         string   `json:"url"`
	Datasets    []string `json:"datasets"`
	Contact     string   `json:"contact"`
}

// DecisionRequest approves (note optional) or declines (reason required)
// an access request.
type DecisionRequest struct {
	Reason string `json:"reason"`
}

func jobstoreProblem(err error) error {
	switch {
	case errors.Is(err, jobstore.ErrInvalid):
		return problem.New(wire.CodeInvalid, err.Error())
	case errors.Is(err, jobstore.ErrNotFound):
		return problem.New(wire.CodeNotFound, err.Error())
	}
	return err
}

func (a *api) listServices(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	out, err := a.Extra.Services.Search(r.Context(), q.Get("q"), q.Get("category"), q.Get("dataset"), q.Get("actor"))
	if err != nil {
		return err
	}
	if out == nil {
		out = []jobstore.Service{}
	}
	return problem.WriteJSON(w, http.StatusOK, out)
}

func (a *api) getService(w http.ResponseWriter, r *http.Request) error {
	s, err := a.Extra.Services.Get(r.Context(), r.PathValue("actor"), r.PathValue("service"))
	if err != nil {
		return jobstoreProblem(err)
	}
	return problem.WriteJSON(w, http.StatusOK, s)
}

func (a *api) putService(w http.ResponseWriter, r *http.Request) error {
	var req ServiceRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	actor := r.PathValue("actor")
	if _, ok := a.Access.Actors.Get(actor); !ok {
		return problem.New(wire.CodeNotFound, "actor "+quoteShort(actor)+" is not registered on this hub")
	}
	s, err := a.Extra.Services.Publish(r.Context(), jobstore.Service{Actor: actor, Name: r.PathValue("service"), Title: req.Title,
		Description: req.Description, Category: req.Category, URL: req.URL, Datasets: req.Datasets, Contact: req.Contact}, audit.ActorAdmin)
	if err != nil {
		return jobstoreProblem(err)
	}
	return problem.WriteJSON(w, http.StatusOK, s)
}

func (a *api) deleteService(w http.ResponseWriter, r *http.Request) error {
	if err := a.Extra.Services.Remove(r.Context(), r.PathValue("actor"), r.PathValue("service"), audit.ActorAdmin); err != nil {
		return jobstoreProblem(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func requestProblem(err error) error {
	switch {
	case errors.Is(err, accessreq.ErrInvalid):
		return problem.New(wire.CodeBadRequest, err.Error())
	case errors.Is(err, accessreq.ErrNotFound):
		return problem.New(wire.CodeNotFound, err.Error())
	case errors.Is(err, accessreq.ErrDecided), errors.Is(err, accessreq.ErrDuplicate):
		return problem.New(wire.CodeConflict, err.Error())
	}
	return err
}

func (a *api) listRequests(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	state := q.Get("state")
	switch state {
	case "", accessreq.StatePending, accessreq.StateApproved, accessreq.StateDeclined, accessreq.StateExpired:
	default:
		return problem.New(wire.CodeBadRequest, "query state="+quoteShort(state)+": want "+strings.Join([]string{accessreq.StatePending, accessreq.StateApproved, accessreq.StateDeclined, accessreq.StateExpired}, ", "))
	}
	out, err := a.Extra.Requests.List(r.Context(), q.Get("actor"), state)
	if err != nil {
		return err
	}
	if out == nil {
		out = []accessreq.Request{}
	}
	return problem.WriteJSON(w, http.StatusOK, out)
}

func (a *api) getRequest(w http.ResponseWriter, r *http.Request) error {
	req, err := a.Extra.Requests.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return requestProblem(err)
	}
	return problem.WriteJSON(w, http.StatusOK, req)
}

func (a *api) approveRequest(w http.ResponseWriter, r *http.Request) error {
	var d DecisionRequest
	if r.ContentLength != 0 {
		if err := decodeBody(r, &d); err != nil {
			return err
		}
	}
	req, err := a.Extra.Requests.Approve(r.Context(), r.PathValue("id"), audit.ActorAdmin, d.Reason)
	if err != nil {
		return requestProblem(err)
	}
	return problem.WriteJSON(w, http.StatusOK, req)
}

func (a *api) declineRequest(w http.ResponseWriter, r *http.Request) error {
	var d DecisionRequest
	if err := decodeBody(r, &d); err != nil {
		return err
	}
	req, err := a.Extra.Requests.Decline(r.Context(), r.PathValue("id"), audit.ActorAdmin, d.Reason)
	if err != nil {
		return requestProblem(err)
	}
	return problem.WriteJSON(w, http.StatusOK, req)
}
