package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/hub/internal/audit"
	"github.com/jobtech-dev/datahub/hub/internal/owners"
	"github.com/jobtech-dev/datahub/hub/internal/registry"
	"github.com/jobtech-dev/datahub/internal/problem"
)

// TransferRequest is the body of PUT /api/v1/datasets/{d}/owners/{key}.
type TransferRequest struct {
	// Publisher is the actor that owns the key from now on.
	Publisher string `json:"publisher"`
}

// ownedDataset is the dataset of a key-owner request, which must have owned
// keys.
func (a *api) ownedDataset(r *http.Request) (*registry.Dataset, string, error) {
	d, err := a.dataset(r)
	if err != nil {
		return nil, "", err
	}
	key := r.PathValue("key")
	if key == "" {
		return nil, "", problem.New(wire.CodeBadRequest, "give the record key after /owners/")
	}
	if d.ScopedByPublisher() {
		return nil, "", problem.New(wire.CodeConflict, fmt.Sprintf("dataset %s has key_scope %q: each publisher's keys are its own, so no key has an owner to show or transfer", d.Name, d.KeyScope))
	}
	if a.Owners == nil {
		return nil, "", problem.New(wire.CodeUnavailable, "key ownership is not available on this hub")
	}
	return d, key, nil
}

func (a *api) getKeyOwner(w http.ResponseWriter, r *http.Request) error {
	d, key, err := a.ownedDataset(r)
	if err != nil {
		return err
	}
	ko, err := a.Owners.Owner(r.Context(), d.Name, key)
	if errors.Is(err, owners.ErrNotOwned) {
		return problem.New(wire.CodeNotFound, fmt.Sprintf("key %q of %s has no owner yet: its first publisher will own it", key, d.Name))
	}
	if err != nil {
		return problem.New(wire.CodeUnavailable, err.Error())
	}
	return problem.WriteJSON(w, http.StatusOK, ko)
}

func (a *api) transferKey(w http.ResponseWriter, r *http.Request) error {
	d, key, err := a.ownedDataset(r)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
	if err != nil {
		return problem.New(wire.CodeBadRequest, "read body: "+err.Error())
	}
	var req TransferRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return problem.New(wire.CodeBadRequest, `body: want {"publisher": "<actor>"}: `+err.Error())
	}
	if !wire.ValidName(req.Publisher) {
		return problem.New(wire.CodeBadRequest, fmt.Sprintf("publisher %q is not an actor name", req.Publisher))
	}
	ko, err := owners.Transfer(r.Context(), a.Owners, a.Audit, d, key, req.Publisher, a.Origin, audit.ActorAdmin)
	switch {
	case errors.Is(err, owners.ErrInvalid):
		return problem.New(wire.CodeBadRequest, err.Error())
	case err != nil:
		return problem.New(wire.CodeUnavailable, err.Error())
	}
	a.log.Info("key transferred", "dataset", d.Name, "key", key, "to", req.Publisher, "by", audit.ActorAdmin)
	return problem.WriteJSON(w, http.StatusOK, ko)
}
