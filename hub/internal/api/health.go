package api

import "github.com/jobtech-dev/datahub/hub/internal/natsd"

// Health is what GET /healthz and GET /readyz answer (200): the node's
// status ("ok", or "ready" from /readyz) and, on a cluster node, the
// cluster as this node sees it. `hub status` decodes it.
type Health struct {
	Status string `json:"status"`
	// Cluster is nil on a single hub.
	Cluster *ClusterHealth `json:"cluster,omitempty"`
}

// ClusterHealth is what the health checks say of the cluster: its state
// as this node sees it, and the hub's streams with their copies.
type ClusterHealth struct {
	natsd.ClusterState
	// Streams are the hub's streams and the state of their copies (left
	// out while there is no quorum).
	Streams map[string]StreamHealth `json:"streams,omitempty"`
}

// StreamHealth is one stream's copies as this node sees them.
type StreamHealth struct {
	Replicas int    `json:"replicas"`
	Leader   string `json:"leader,omitempty"`
	// Lagging names the copies behind the leader, with how many
	// operations each is behind.
	Lagging map[string]uint64 `json:"lagging,omitempty"`
	// Offline names the copies the leader has not heard from lately.
	Offline []string `json:"offline,omitempty"`
}
