package sidecar

import (
	"net/http"
	"time"

	"github.com/jobtech-dev/datahub/internal/problem"
)

// health is the answer of /healthz. Status is the most urgent of:
// outbox-damaged (forwarding stopped: run `connector outbox repair`),
// unauthorized (the hub refuses the actor's key), hub-unreachable, stuck
// (the oldest queued record is not being taken, see queue_head), forbidden
// (the hub refused records for a dataset, see datasets), ok.
type health struct {
	Status        string                   `json:"status"`
	Actor         string                   `json:"actor"`
	Hub           hubHealth                `json:"hub"`
	OutboxPending int                      `json:"outbox_pending"`
	OutboxBytes   int64                    `json:"outbox_bytes"`
	Datasets      map[string]datasetHealth `json:"datasets,omitempty"`
	QueueHead     *queueHead               `json:"queue_head,omitempty"`
	OutboxError   string                   `json:"outbox_error,omitempty"`
}

type hubHealth struct {
	URL       string    `json:"url"`
	Connected bool      `json:"connected"`
	Since     time.Time `json:"since"`
	Error     string    `json:"error,omitempty"`
	// MaxRecordBytes is the hub's record limit, learned at connect.
	MaxRecordBytes int `json:"max_record_bytes,omitempty"`
}

// datasetHealth is what the sidecar knows about the actor's right to
// publish to one dataset: "forbidden" once the hub refused a record of it
// on the current connection.
type datasetHealth struct {
	Publish string    `json:"publish"`
	Since   time.Time `json:"since"`
	Error   string    `json:"error,omitempty"`
}

func (s *Sidecar) healthz(w http.ResponseWriter, r *http.Request) error {
	n, b := s.ob.Pending()
	st := s.c.State()
	h := health{Status: "ok", Actor: s.c.Actor(), OutboxPending: n, OutboxBytes: b,
		Hub: hubHealth{URL: s.cfg.Hub.URL, Connected: st.Connected, Since: st.Since, MaxRecordBytes: s.c.HubMaxRecordBytes()}}
	if st.Err != nil {
		h.Hub.Error = st.Err.Error()
	}
	for _, d := range s.rights.datasets(st.Generation) {
		if ref, ok := s.rights.forbidden(d, st.Generation); ok {
			if h.Datasets == nil {
				h.Datasets = map[string]datasetHealth{}
			}
			h.Datasets[d] = datasetHealth{Publish: "forbidden", Since: ref.at, Error: ref.cause}
		}
	}
	head, stuck := s.fw.stuck(st.Generation, s.cfg.StuckAfter)
	if stuck && st.Connected {
		h.QueueHead = &head
	}
	damaged := s.fw.damaged()
	if damaged != nil {
		h.OutboxError = damaged.Error()
	}
	switch {
	case damaged != nil:
		h.Status = "outbox-damaged"
	case st.Unauthorized:
		h.Status = "unauthorized"
	case !st.Connected:
		h.Status = "hub-unreachable"
	case h.QueueHead != nil:
		h.Status = "stuck"
	case len(h.Datasets) > 0:
		h.Status = "forbidden"
	}
	return problem.WriteJSON(w, http.StatusOK, h)
}
