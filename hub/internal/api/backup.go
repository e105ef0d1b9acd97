package api

import (
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"time"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/hub/internal/audit"
	"github.com/jobtech-dev/datahub/internal/problem"
)

// backup answers POST /api/v1/backup with an online backup of every stream
// as one multipart/mixed body (see package backup), while the hub keeps
// serving. The backup is audited before any data leaves.
func (a *api) backup(w http.ResponseWriter, r *http.Request) error {
	if a.Backups == nil {
		return problem.New(wire.CodeNotFound, "this hub takes no backups")
	}
	ctx := r.Context()
	started := time.Now()
	streams, err := a.Backups.Streams(ctx)
	if err != nil {
		return err
	}
	d, _ := json.Marshal(map[string]any{"streams": streams, "started": started.UTC(), "remote": r.RemoteAddr})
	if _, err := a.Audit.Append(ctx, audit.Entry{Kind: audit.KindBackup, Actor: audit.ActorAdmin, Subject: "backup", Detail: d}); err != nil {
		return problem.New(wire.CodeUnavailable, fmt.Sprintf("the backup could not be audited, so none is taken: %v", err))
	}
	// A backup streams for as long as it takes: no write deadline.
	_ = http.NewResponseController(w).SetWriteDeadline(time.Time{})
	mw := multipart.NewWriter(w)
	w.Header().Set("Content-Type", "multipart/mixed; boundary="+mw.Boundary())
	w.WriteHeader(http.StatusOK)
	m, err := a.Backups.Write(ctx, mw, started)
	if err != nil {
		a.log.Error("backup failed", "err", err, "streams_done", len(m.Streams))
		_ = mw.Close()
		return nil // the body carries the error part; the status line is gone
	}
	a.log.Info("backup taken", "streams", len(m.Streams), "took", time.Since(started).Round(time.Millisecond), "remote", r.RemoteAddr)
	return mw.Close()
}
