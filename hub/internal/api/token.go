package api

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/hub/internal/admintoken"
	"github.com/jobtech-dev/datahub/hub/internal/audit"
	"github.com/jobtech-dev/datahub/internal/problem"
)

// TokenRotation answers POST /api/v1/token/rotate: the new admin token, in
// force from this answer on (the one the request carried is refused from
// now), and its fingerprint as the audit log records it.
type TokenRotation struct {
	Token       string `json:"token"`
	Fingerprint string `json:"fingerprint"`
	// File is where the hub keeps it (its data dir's admin.token).
	File string `json:"file"`
}

func (a *api) rotateToken(w http.ResponseWriter, r *http.Request) error {
	if a.Tokens == nil {
		return problem.New(wire.CodeNotFound, "this hub's admin token cannot be rotated through the API: it is read from admin_token_file (write a new token to that file on every node and restart the nodes one at a time)")
	}
	old := a.Tokens.Token()
	tok, err := a.Tokens.Rotate(func(tok string) error {
		// The rotation is audited before the new token takes effect.
		d, _ := json.Marshal(map[string]string{"old_fingerprint": admintoken.Fingerprint(old), "new_fingerprint": admintoken.Fingerprint(tok), "remote": r.RemoteAddr})
		_, err := a.Audit.Append(r.Context(), audit.Entry{Kind: audit.KindTokenRotate, Actor: audit.ActorAdmin, Subject: admintoken.FileName, Detail: d})
		if err != nil {
			return fmt.Errorf("audit the rotation (the token was not rotated): %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	a.log.Warn("admin token rotated: the old token is refused from now on", "fingerprint", admintoken.Fingerprint(tok), "remote", r.RemoteAddr)
	return problem.WriteJSON(w, http.StatusOK, TokenRotation{Token: tok, Fingerprint: admintoken.Fingerprint(tok), File: a.Tokens.Path()})
}
