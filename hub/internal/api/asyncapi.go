package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/hub/internal/asyncapi"
	"github.com/jobtech-dev/datahub/hub/internal/policy"
	"github.com/jobtech-dev/datahub/internal/buildinfo"
	"github.com/jobtech-dev/datahub/internal/problem"
)

// asyncAPI answers the AsyncAPI 3.0.0 document of the datasets in force;
// with ?actor=NAME, that actor's: its subjects and the operations its
// rights allow now (from an unknown source address, as policy explain).
// An actor the hub does not know is 404: a document for nobody would read
// as a real one with no rights.
func (a *api) asyncAPI(w http.ResponseWriter, r *http.Request) error {
	var rights *policy.Rights
	if r.URL.Query().Has("actor") {
		actor := r.URL.Query().Get("actor")
		if err := a.checkQuestion(actor, "", ""); err != nil {
			return err
		}
		if _, ok := a.Access.Actors.Get(actor); !ok {
			return problem.New(wire.CodeNotFound, fmt.Sprintf("actor %s is not registered on this hub (hub actor list shows the actors)", quoteShort(actor)))
		}
		rs := a.Access.Rights(actor, "")
		rights = &rs
	}
	hub := asyncapi.Hub{Name: a.Origin, Version: buildinfo.Read().Version, NATSURL: a.NATSURL}
	doc, err := asyncapi.Generate(hub, a.Registry.List(), rights)
	if err != nil {
		return fmt.Errorf("asyncapi document: %w", err)
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // "_INBOX_<actor>" reads as written
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("asyncapi document: %w", err)
	}
	// application/json, not the AsyncAPI media type: every client of the
	// API (the CLI among them) takes JSON answers as JSON.
	w.Header().Set("Content-Type", "application/json")
	_, err = w.Write(b.Bytes())
	return err
}
