package policy

import (
	"testing"
	"time"
)

func TestAnyNetwork(t *testing.T) {
	set, err := LoadFiles(map[string][]byte{"p.json": []byte(`[
		{"id":"office-only","description":"x","subjects":["actor:jobbland"],"resources":["dataset:jobads"],"actions":["subscribe"],"effect":"allow",
		 "conditions":{"remote_ip":{"type":"CIDRCondition","options":{"cidr":"10.0.0.0/8"}}}},
		{"id":"all","description":"x","subjects":["actor:matchwise"],"resources":["dataset:jobads"],"actions":["subscribe"],"effect":"allow"},
		{"id":"not-from-guest","description":"x","subjects":["actor:matchwise"],"resources":["dataset:jobads"],"actions":["subscribe"],"effect":"deny",
		 "conditions":{"remote_ip":{"type":"CIDRCondition","options":{"cidr":"192.168.0.0/16"}}}}]`)})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for _, tc := range []struct {
		actor string
		ip    string
		any   bool
		want  bool
	}{
		{"jobbland", "", false, false},        // unknown address: a network grant is not proven
		{"jobbland", "", true, true},          // but from some network it is allowed
		{"jobbland", "127.0.0.1", true, true}, // AnyNetwork ignores the given address
		{"matchwise", "192.168.1.1", false, false},
		{"matchwise", "", true, true}, // a network deny does not hold everywhere
		{"yrkeshogskolan", "", true, false},
	} {
		d := set.Decide(Request{Actor: tc.actor, Action: ActionSubscribe, Dataset: "jobads", Time: now, RemoteIP: tc.ip, AnyNetwork: tc.any})
		if d.Allowed != tc.want {
			t.Errorf("%s ip=%q any=%v: %+v, want allowed=%v", tc.actor, tc.ip, tc.any, d, tc.want)
		}
	}
}
