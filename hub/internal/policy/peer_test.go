package policy

import (
	"errors"
	"testing"
	"time"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
)

// A peer hub is "hub:<name>" in the policies and is asked about by its
// subject token; actor subjects, actor patterns and groups never reach it,
// and its own grants reach no actor.
func TestPeerHubSubjects(t *testing.T) {
	t.Parallel()
	set, err := LoadFiles(map[string][]byte{
		"peers.json": []byte(`[
		  {"id": "regional-takes-jobads", "subjects": ["hub:regional"], "resources": ["dataset:jobads"], "actions": ["subscribe"], "effect": "allow",
		   "conditions": {"time": {"type": "TimeWindowCondition", "options": {"until": "2030-01-01T00:00:00Z"}}}},
		  {"id": "peers-read-taxonomy", "subjects": ["hub:<.*>"], "resources": ["dataset:taxonomy-concepts"], "actions": ["subscribe"], "effect": "allow"},
		  {"id": "every-actor", "subjects": ["actor:<.*>"], "resources": ["dataset:<.*>"], "actions": ["<.*>"], "effect": "allow"},
		  {"id": "boards", "subjects": ["group:boards"], "resources": ["dataset:<.*>"], "actions": ["<.*>"], "effect": "allow"},
		  {"id": "regional-from-its-network", "subjects": ["hub:regional"], "resources": ["dataset:gigs"], "actions": ["subscribe"], "effect": "allow",
		   "conditions": {"remote_ip": {"type": "CIDRCondition", "options": {"cidr": "10.0.0.0/8"}}}}
		]`),
		"groups.yaml": []byte("groups:\n  boards: [regional]\n"),
	})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	peer := wire.PeerActor("regional")
	for _, c := range []struct {
		actor, dataset, action, ip string
		allowed                    bool
		policy                     string
	}{
		{peer, "jobads", ActionSubscribe, "", true, "regional-takes-jobads"},
		{peer, "taxonomy-concepts", ActionSubscribe, "", true, "peers-read-taxonomy"},
		// actor:<.*> and group membership of an actor called "regional"
		// do not reach the peer hub.
		{peer, "jobads", ActionPublish, "", false, ""},
		{peer, "gigs", ActionSubscribe, "192.168.1.2", false, ""},
		{peer, "gigs", ActionSubscribe, "10.1.2.3", true, "regional-from-its-network"},
		{wire.PeerActor("national"), "jobads", ActionSubscribe, "", false, ""},
		{wire.PeerActor("national"), "taxonomy-concepts", ActionSubscribe, "", true, "peers-read-taxonomy"},
		// the actor "regional" is not the peer hub "hub:regional".
		{"regional", "jobads", ActionPublish, "", true, "every-actor"},
	} {
		d := set.Decide(Request{Actor: c.actor, Dataset: c.dataset, Action: c.action, Time: now, RemoteIP: c.ip})
		if d.Allowed != c.allowed || d.PolicyID != c.policy {
			t.Errorf("%s %s %s from %q: %+v, want allowed=%v by %q", c.actor, c.action, c.dataset, c.ip, d, c.allowed, c.policy)
		}
	}
	r := set.Rights(peer, []string{"jobads"}, now, "")
	if !r.Allowed("jobads", ActionSubscribe) || !r.NextChange.Equal(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("rights of the peer: %+v", r)
	}
	if _, err := LoadFiles(map[string][]byte{"p.json": []byte(`{"id": "x", "subjects": ["hub:Bad_Name"], "resources": ["dataset:jobads"], "actions": ["subscribe"], "effect": "allow"}`)}); !errors.Is(err, ErrInvalidSubject) {
		t.Errorf("hub:Bad_Name: %v, want ErrInvalidSubject", err)
	}
	if _, err := LoadFiles(map[string][]byte{"p.json": []byte(`{"id": "x", "subjects": ["peer:x"], "resources": ["dataset:jobads"], "actions": ["subscribe"], "effect": "allow"}`)}); err == nil || !errors.Is(err, ErrInvalidSubject) {
		t.Errorf("peer:x: %v, want ErrInvalidSubject naming hub:NAME", err)
	}
}
