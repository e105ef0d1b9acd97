package policy

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ory/ladon"
)

// realPoliciesDir is the repository's example ecosystem.
const realPoliciesDir = "../../../policies"

var (
	ifauFrom  = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ifauUntil = time.Date(2027, 6, 30, 0, 0, 0, 0, time.UTC)
	// insideIfau is a moment inside IFAU's research grant.
	insideIfau = time.Date(2026, 9, 15, 12, 0, 0, 0, time.UTC)
)

var realDatasets = []string{"jobads", "taxonomy-concepts", "job-postings", "education-offerings", "gig-assignments"}

func loadReal(t testing.TB) *Set {
	t.Helper()
	set, err := LoadDir(realPoliciesDir)
	if err != nil {
		t.Fatalf("LoadDir(%s): %v", realPoliciesDir, err)
	}
	return set
}

func loadFixture(t *testing.T, files map[string]string) *Set {
	t.Helper()
	set, err := LoadDir(writeDir(t, files))
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// TestRealPolicies decides every actor × dataset × action of the example
// ecosystem at a moment inside IFAU's grant.
func TestRealPolicies(t *testing.T) {
	set := loadReal(t)
	const (
		jobads    = "jobads"
		taxonomy  = "taxonomy-concepts"
		postings  = "job-postings"
		education = "education-offerings"
		gigs      = "gig-assignments"
	)
	// readOnly is the rights every actor has on a dataset no policy names
	// for it: the schema, through everyone-reads-schemas.
	readOnly := map[string]string{ActionPublish: "", ActionSubscribe: "", ActionReadSchema: "everyone-reads-schemas", ActionRegisterSchema: ""}
	// want maps actor → dataset → action → deciding policy; "" is default deny.
	// A policy id prefixed with "!" is an explicit deny.
	want := map[string]map[string]map[string]string{
		"arbetsformedlingen": {
			jobads:    {ActionPublish: "pes-publishes-jobads", ActionSubscribe: "", ActionReadSchema: "everyone-reads-schemas", ActionRegisterSchema: "pes-manages-schemas"},
			taxonomy:  {ActionPublish: "pes-publishes-taxonomy", ActionSubscribe: "", ActionReadSchema: "everyone-reads-schemas", ActionRegisterSchema: "pes-manages-schemas"},
			postings:  {ActionPublish: "pes-publishes-job-postings", ActionSubscribe: "", ActionReadSchema: "everyone-reads-schemas", ActionRegisterSchema: "pes-manages-collected-and-gig-schemas"},
			education: readOnly,
			gigs:      {ActionPublish: "", ActionSubscribe: "", ActionReadSchema: "everyone-reads-schemas", ActionRegisterSchema: "pes-manages-collected-and-gig-schemas"},
		},
		"jobbland": {
			jobads:    {ActionPublish: "job-boards-publish-jobads", ActionSubscribe: "", ActionReadSchema: "everyone-reads-schemas", ActionRegisterSchema: ""},
			taxonomy:  {ActionPublish: "", ActionSubscribe: "", ActionReadSchema: "everyone-reads-schemas", ActionRegisterSchema: ""},
			postings:  readOnly,
			education: readOnly,
			gigs:      readOnly,
		},
		"jobfinder": {
			jobads:    {ActionPublish: "job-boards-publish-jobads", ActionSubscribe: "", ActionReadSchema: "everyone-reads-schemas", ActionRegisterSchema: ""},
			taxonomy:  {ActionPublish: "", ActionSubscribe: "", ActionReadSchema: "everyone-reads-schemas", ActionRegisterSchema: ""},
			postings:  readOnly,
			education: readOnly,
			gigs:      readOnly,
		},
		"matchwise": {
			jobads:    {ActionPublish: "", ActionSubscribe: "matchwise-subscribes-jobads-and-taxonomy", ActionReadSchema: "everyone-reads-schemas", ActionRegisterSchema: ""},
			taxonomy:  {ActionPublish: "", ActionSubscribe: "matchwise-subscribes-jobads-and-taxonomy", ActionReadSchema: "everyone-reads-schemas", ActionRegisterSchema: ""},
			postings:  {ActionPublish: "", ActionSubscribe: "matchwise-subscribes-postings-offerings-gigs", ActionReadSchema: "everyone-reads-schemas", ActionRegisterSchema: ""},
			education: {ActionPublish: "", ActionSubscribe: "matchwise-subscribes-postings-offerings-gigs", ActionReadSchema: "everyone-reads-schemas", ActionRegisterSchema: ""},
			gigs:      {ActionPublish: "", ActionSubscribe: "matchwise-subscribes-postings-offerings-gigs", ActionReadSchema: "everyone-reads-schemas", ActionRegisterSchema: ""},
		},
		"yrkeshogskolan": {
			// The explicit deny beats the wildcard read-schema allow.
			jobads:    {ActionPublish: "!yrkeshogskolan-denied-jobads", ActionSubscribe: "!yrkeshogskolan-denied-jobads", ActionReadSchema: "!yrkeshogskolan-denied-jobads", ActionRegisterSchema: "!yrkeshogskolan-denied-jobads"},
			taxonomy:  {ActionPublish: "", ActionSubscribe: "yrkeshogskolan-subscribes-taxonomy", ActionReadSchema: "everyone-reads-schemas", ActionRegisterSchema: ""},
			postings:  readOnly,
			education: {ActionPublish: "yrkeshogskolan-publishes-education-offerings", ActionSubscribe: "", ActionReadSchema: "everyone-reads-schemas", ActionRegisterSchema: "yrkeshogskolan-manages-education-schema"},
			gigs:      readOnly,
		},
		"ifau": {
			jobads:    {ActionPublish: "", ActionSubscribe: "ifau-subscribes-jobads-2026", ActionReadSchema: "everyone-reads-schemas", ActionRegisterSchema: ""},
			taxonomy:  {ActionPublish: "", ActionSubscribe: "", ActionReadSchema: "everyone-reads-schemas", ActionRegisterSchema: ""},
			postings:  readOnly,
			education: readOnly,
			gigs:      readOnly,
		},
	}
	for _, actor := range slices.Sorted(maps.Keys(want)) {
		for _, ds := range realDatasets {
			for _, action := range Actions() {
				wantID := want[actor][ds][action]
				t.Run(actor+"/"+ds+"/"+action, func(t *testing.T) {
					got := set.Decide(Request{Actor: actor, Action: action, Dataset: ds, Time: insideIfau, RemoteIP: "192.0.2.10"})
					checkDecision(t, got, wantID)
				})
			}
		}
	}
	t.Run("rights agree with decide", func(t *testing.T) {
		for actor := range want {
			r := set.Rights(actor, realDatasets, insideIfau, "192.0.2.10")
			if len(r.Grants) != len(realDatasets)*len(Actions()) {
				t.Fatalf("%s: %d grants", actor, len(r.Grants))
			}
			for _, g := range r.Grants {
				checkDecision(t, g.Decision, want[actor][g.Dataset][g.Action])
			}
		}
	})
}

// checkDecision compares a decision with the wanted policy id ("" default
// deny, "!id" explicit deny by id).
func checkDecision(t *testing.T, got Decision, wantID string) {
	t.Helper()
	switch {
	case wantID == "":
		if got.Allowed || got.PolicyID != "" || got.Reason != "no policy allows it (default deny)" {
			t.Errorf("got %+v, want default deny", got)
		}
	case strings.HasPrefix(wantID, "!"):
		id := wantID[1:]
		if got.Allowed || got.PolicyID != id || got.Reason != fmt.Sprintf("denied by policy %q (explicit deny)", id) {
			t.Errorf("got %+v, want explicit deny by %q", got, id)
		}
	default:
		if !got.Allowed || got.PolicyID != wantID || got.Reason != fmt.Sprintf("allowed by policy %q", wantID) {
			t.Errorf("got %+v, want allowed by %q", got, wantID)
		}
	}
}

// TestAgreesWithLadon checks, for the real policies and a fixture with
// conditions, that Decide allows exactly what ladon's own
// Ladon.DoPoliciesAllow allows when asked once per identity.
func TestAgreesWithLadon(t *testing.T) {
	fixture := loadFixture(t, map[string]string{
		"a.json": "[" + pol("net", `subjects=["actor:<job.*>"]`, `resources=["dataset:<.*ads>"]`, `actions=["<publish|subscribe>"]`,
			`conditions={"remote_ip": {"type": "CIDRCondition", "options": {"cidr": "10.0.0.0/8"}}}`) +
			", " + pol("deny-boards", `subjects=["group:job-boards"]`, `actions=["subscribe"]`, `effect="deny"`,
			`conditions={"time": {"type": "TimeWindowCondition", "options": {"until": "2026-03-01T00:00:00Z"}}}`) + "]",
		GroupsFile: "groups:\n  job-boards: [jobbland, jobfinder]\n",
	})
	actors := []string{"arbetsformedlingen", "jobbland", "jobfinder", "matchwise", "yrkeshogskolan", "ifau", "stranger"}
	times := []time.Time{ifauFrom.Add(-time.Hour), insideIfau, ifauUntil, time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)}
	ips := []string{"", "10.1.2.3", "192.0.2.1"}
	warden := &ladon.Ladon{Matcher: ladon.NewRegexpMatcher(64), AuditLogger: &ladon.AuditLoggerNoOp{}, Metric: &ladon.MetricNoOp{}}
	for name, set := range map[string]*Set{"real": loadReal(t), "fixture": fixture} {
		policies := []ladon.Policy(set.Policies())
		for _, actor := range actors {
			for _, ds := range append(slices.Clone(realDatasets), "gigads") {
				for _, action := range Actions() {
					for _, at := range times {
						for _, ip := range ips {
							got := set.Decide(Request{Actor: actor, Action: action, Dataset: ds, Time: at, RemoteIP: ip})
							want := ladonAllows(t, warden, policies, set.identities(actor), ds, action, at, ip)
							if got.Allowed != want {
								t.Errorf("%s: %s %s %s at %s from %q: Decide %+v, ladon allowed=%v", name, actor, action, ds, at, ip, got, want)
							}
						}
					}
				}
			}
		}
	}
}

func ladonAllows(t *testing.T, w *ladon.Ladon, policies []ladon.Policy, identities []string, ds, action string, at time.Time, ip string) bool {
	t.Helper()
	allowed := false
	for _, id := range identities {
		err := w.DoPoliciesAllow(context.Background(), &ladon.Request{
			Subject: id, Resource: "dataset:" + ds, Action: action,
			Context: ladon.Context{ContextKeyTime: at, ContextKeyRemoteIP: ip},
		}, policies)
		// ladon wraps with pkg/errors v0.8, which predates Unwrap: compare messages.
		switch {
		case err == nil:
			allowed = true
		case err.Error() == ladon.ErrRequestForcefullyDenied.Error():
			return false
		case err.Error() == ladon.ErrRequestDenied.Error():
		default:
			t.Fatalf("ladon: %v", err)
		}
	}
	return allowed
}

func TestDecideDenyBeatsAllow(t *testing.T) {
	set := loadFixture(t, map[string]string{
		"allow.json": "[" + pol("boards-publish", `subjects=["group:job-boards"]`) + ", " +
			pol("anyone-reads", `subjects=["actor:<.*>"]`, `resources=["dataset:<.*>"]`, `actions=["read-schema"]`) + "]",
		"deny.json": "[" + pol("jobfinder-suspended", `subjects=["actor:jobfinder"]`, `actions=["<.*>"]`, `effect="deny"`) + "]",
		GroupsFile:  "groups:\n  job-boards: [jobbland, jobfinder]\n",
	})
	tests := []struct {
		name   string
		req    Request
		wantID string
	}{
		{"group allow", Request{Actor: "jobbland", Action: ActionPublish, Dataset: "jobads"}, "boards-publish"},
		{"deny beats group allow", Request{Actor: "jobfinder", Action: ActionPublish, Dataset: "jobads"}, "!jobfinder-suspended"},
		{"deny beats wildcard allow", Request{Actor: "jobfinder", Action: ActionReadSchema, Dataset: "jobads"}, "!jobfinder-suspended"},
		{"deny limited to its resource", Request{Actor: "jobfinder", Action: ActionReadSchema, Dataset: "taxonomy-concepts"}, "anyone-reads"},
		{"no policy", Request{Actor: "jobbland", Action: ActionSubscribe, Dataset: "jobads"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkDecision(t, set.Decide(tt.req), tt.wantID)
		})
	}
}

func TestDecideMalformedRequests(t *testing.T) {
	set := loadReal(t)
	tests := []struct {
		name string
		req  Request
		want string
	}{
		{"unknown action", Request{Actor: "matchwise", Action: "delete", Dataset: "jobads"}, `unknown action "delete" (default deny)`},
		{"action pattern is not an action", Request{Actor: "matchwise", Action: "<.*>", Dataset: "jobads"}, `unknown action "<.*>" (default deny)`},
		{"bad actor name", Request{Actor: "Matchwise", Action: ActionReadSchema, Dataset: "jobads"}, `invalid actor name "Matchwise" (default deny)`},
		{"empty dataset", Request{Actor: "matchwise", Action: ActionReadSchema}, `invalid dataset name "" (default deny)`},
		{"unknown dataset falls to wildcard", Request{Actor: "matchwise", Action: ActionSubscribe, Dataset: "gigads"}, "no policy allows it (default deny)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := set.Decide(tt.req)
			if got.Allowed || got.PolicyID != "" || got.Reason != tt.want {
				t.Errorf("got %+v, want deny %q", got, tt.want)
			}
		})
	}
}

func TestDecideTimeWindow(t *testing.T) {
	set := loadReal(t)
	tests := []struct {
		name   string
		at     time.Time
		wantID string
	}{
		{"before", ifauFrom.Add(-time.Second), ""},
		{"at start", ifauFrom, "ifau-subscribes-jobads-2026"},
		{"inside", insideIfau, "ifau-subscribes-jobads-2026"},
		{"just before end", ifauUntil.Add(-time.Nanosecond), "ifau-subscribes-jobads-2026"},
		{"at end (exclusive)", ifauUntil, ""},
		{"after", ifauUntil.AddDate(1, 0, 0), ""},
		{"zero time proves nothing", time.Time{}, ""},
		{"other zone, same instant", insideIfau.In(time.FixedZone("CET", 3600)), "ifau-subscribes-jobads-2026"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := set.Decide(Request{Actor: "ifau", Action: ActionSubscribe, Dataset: "jobads", Time: tt.at})
			checkDecision(t, got, tt.wantID)
		})
	}
}

func TestDecideCIDR(t *testing.T) {
	set := loadFixture(t, map[string]string{
		"net.json": "[" + pol("office-network", `subjects=["actor:matchwise"]`, `actions=["subscribe"]`,
			`conditions={"remote_ip": {"type": "CIDRCondition", "options": {"cidr": "10.20.0.0/16"}}}`) + ", " +
			pol("blocked-network", `subjects=["actor:matchwise"]`, `resources=["dataset:taxonomy-concepts"]`, `actions=["subscribe"]`, `effect="deny"`,
				`conditions={"remote_ip": {"type": "CIDRCondition", "options": {"cidr": "2001:db8::/32"}}}`) + ", " +
			pol("taxonomy-open", `subjects=["actor:matchwise"]`, `resources=["dataset:taxonomy-concepts"]`, `actions=["subscribe"]`) + "]",
	})
	tests := []struct {
		name    string
		dataset string
		ip      string
		wantID  string
	}{
		{"matching IP", "jobads", "10.20.3.4", "office-network"},
		{"non-matching IP", "jobads", "10.21.3.4", ""},
		{"empty IP cannot be proven", "jobads", "", ""},
		{"garbage IP", "jobads", "not-an-ip", ""},
		{"IPv6 deny matches", "taxonomy-concepts", "2001:db8::1", "!blocked-network"},
		{"IPv6 deny does not match", "taxonomy-concepts", "2001:db9::1", "taxonomy-open"},
		{"deny with unknown IP does not apply", "taxonomy-concepts", "", "taxonomy-open"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := set.Decide(Request{Actor: "matchwise", Action: ActionSubscribe, Dataset: tt.dataset, Time: insideIfau, RemoteIP: tt.ip})
			checkDecision(t, got, tt.wantID)
		})
	}
}

func TestRightsNextChange(t *testing.T) {
	set := loadReal(t)
	tests := []struct {
		name          string
		actor         string
		now           time.Time
		want          time.Time
		wantSubscribe bool
	}{
		{"ifau before window", "ifau", ifauFrom.Add(-24 * time.Hour), ifauFrom, false},
		{"ifau inside window", "ifau", insideIfau, ifauUntil, true},
		{"ifau exactly at start", "ifau", ifauFrom, ifauUntil, true},
		{"ifau after window", "ifau", ifauUntil, time.Time{}, false},
		{"matchwise has no time-boxed policy", "matchwise", insideIfau, time.Time{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := set.Rights(tt.actor, realDatasets, tt.now, "")
			if !r.NextChange.Equal(tt.want) {
				t.Errorf("NextChange = %v, want %v", r.NextChange, tt.want)
			}
			if tt.actor == "ifau" && r.Allowed("jobads", ActionSubscribe) != tt.wantSubscribe {
				t.Errorf("subscribe jobads allowed = %v, want %v", !tt.wantSubscribe, tt.wantSubscribe)
			}
		})
	}
	r := set.Rights("matchwise", realDatasets, insideIfau, "")
	if !r.Allowed("jobads", ActionSubscribe) || r.Allowed("jobads", ActionPublish) || r.Allowed("gigads", ActionReadSchema) {
		t.Errorf("Rights.Allowed wrong: %+v", r.Grants)
	}
	if _, ok := r.Decision("gigads", ActionSubscribe); ok {
		t.Error("Decision reports a dataset that was not asked about")
	}
}

func TestExplain(t *testing.T) {
	set := loadReal(t)
	tests := []struct {
		name     string
		now      time.Time
		want     string // the jobads/subscribe line
		wantCond []string
		pending  bool
	}{
		{"inside window", insideIfau,
			`jobads subscribe allow policy="ifau-subscribes-jobads-2026" (time window from 2026-01-01T00:00:00Z until 2027-06-30T00:00:00Z)`,
			[]string{"time window from 2026-01-01T00:00:00Z until 2027-06-30T00:00:00Z"}, false},
		{"before window", ifauFrom.Add(-time.Hour),
			`jobads subscribe deny (no policy allows it (default deny)); policy "ifau-subscribes-jobads-2026" would allow it only with time window from 2026-01-01T00:00:00Z until 2027-06-30T00:00:00Z (not yet in force)`,
			nil, true},
		{"after window", ifauUntil,
			`jobads subscribe deny (no policy allows it (default deny)); policy "ifau-subscribes-jobads-2026" would allow it only with time window from 2026-01-01T00:00:00Z until 2027-06-30T00:00:00Z (expired)`,
			nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lines := set.Explain("ifau", realDatasets, tt.now)
			if want := len(realDatasets) * len(Actions()); len(lines) != want {
				t.Fatalf("%d lines, want %d", len(lines), want)
			}
			var found bool
			for _, l := range lines {
				if l.Dataset != "jobads" || l.Action != ActionSubscribe {
					if len(l.Pending) != 0 || len(l.Conditions) != 0 {
						t.Errorf("unexpected conditions on %s", l)
					}
					continue
				}
				found = true
				if got := l.String(); got != tt.want {
					t.Errorf("line\n got %s\nwant %s", got, tt.want)
				}
				if !slices.Equal(l.Conditions, tt.wantCond) || (len(l.Pending) > 0) != tt.pending {
					t.Errorf("conditions %q pending %q", l.Conditions, l.Pending)
				}
			}
			if !found {
				t.Fatal("no jobads/subscribe line")
			}
		})
	}
	t.Run("network condition is pending", func(t *testing.T) {
		set := loadFixture(t, map[string]string{"a.json": pol("office", `actions=["subscribe"]`,
			`conditions={"remote_ip": {"type": "CIDRCondition", "options": {"cidr": "10.0.0.0/8"}}}`)})
		l := set.Explain("jobbland", []string{"jobads"}, insideIfau)[1]
		if l.Allowed || len(l.Pending) != 1 || !strings.Contains(l.Pending[0], "source network 10.0.0.0/8") {
			t.Errorf("got %s", l)
		}
	})
}

func TestExpiries(t *testing.T) {
	set := loadFixture(t, map[string]string{
		"a.json": "[" + pol("late", `conditions={"time": {"type": "TimeWindowCondition", "options": {"until": "2028-01-01T00:00:00Z"}}}`) + ", " +
			pol("open-ended", `conditions={"time": {"type": "TimeWindowCondition", "options": {"from": "2026-01-01T00:00:00Z"}}}`) + ", " +
			pol("early", `subjects=["actor:ifau", "actor:matchwise"]`, `conditions={"time": {"type": "TimeWindowCondition", "options": {"from": "2025-01-01T00:00:00Z", "until": "2026-06-01T00:00:00Z"}}}`) + ", " +
			pol("plain") + "]",
	})
	tests := []struct {
		after time.Time
		want  []string
	}{
		{time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), []string{"early", "late"}},
		{time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), []string{"late"}},
		{time.Date(2028, 1, 1, 0, 0, 0, 0, time.UTC), nil},
	}
	for _, tt := range tests {
		t.Run(tt.after.Format(time.DateOnly), func(t *testing.T) {
			var got []string
			for _, e := range set.Expiries(tt.after) {
				got = append(got, e.PolicyID)
				if e.PolicyID == "early" && (!slices.Equal(e.Subjects, []string{"actor:ifau", "actor:matchwise"}) || !e.Until.Equal(time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC))) {
					t.Errorf("expiry %+v", e)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	real := loadReal(t).Expiries(insideIfau)
	if len(real) != 1 || real[0].PolicyID != "ifau-subscribes-jobads-2026" || !real[0].Until.Equal(ifauUntil) {
		t.Errorf("real expiries = %+v", real)
	}
}

func TestSetIsImmutable(t *testing.T) {
	set := loadReal(t)
	p, ok := set.Policy("ifau-subscribes-jobads-2026")
	if !ok {
		t.Fatal("policy not found")
	}
	dp := p.(*ladon.DefaultPolicy)
	dp.Subjects[0] = "actor:matchwise"
	dp.Conditions[ContextKeyTime].(*TimeWindowCondition).Until = ifauUntil.AddDate(10, 0, 0)
	groups := set.Groups()
	groups["job-boards"][0] = "ifau"
	if got := set.Decide(Request{Actor: "ifau", Action: ActionSubscribe, Dataset: "jobads", Time: ifauUntil.AddDate(1, 0, 0)}); got.Allowed {
		t.Error("changing a returned policy changed the Set")
	}
	if got := set.GroupsOf("jobbland"); !slices.Equal(got, []string{"job-boards"}) {
		t.Errorf("GroupsOf(jobbland) = %v", got)
	}
	if set.File("pes-publishes-jobads") != realPoliciesDir+"/publishers.json" {
		t.Errorf("File = %q", set.File("pes-publishes-jobads"))
	}
}

func TestConcurrentUse(t *testing.T) {
	set := loadReal(t)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 200 {
				at := ifauFrom.Add(time.Duration(i*200+j) * time.Hour)
				r := set.Rights("ifau", realDatasets, at, "10.0.0.1")
				want := at.Before(ifauUntil)
				if r.Allowed("jobads", ActionSubscribe) != want {
					t.Errorf("at %v: allowed=%v", at, !want)
					return
				}
				_ = set.Explain("yrkeshogskolan", realDatasets, at)
			}
		})
	}
	wg.Wait()
}

// TestTimeWindowConditionWithLadon checks that ladon itself can read back a
// policy with a TimeWindowCondition once a Set has been loaded.
func TestTimeWindowConditionWithLadon(t *testing.T) {
	set := loadReal(t)
	p, _ := set.Policy("ifau-subscribes-jobads-2026")
	data, err := p.(*ladon.DefaultPolicy).Conditions.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	back := ladon.Conditions{}
	if err := back.UnmarshalJSON(data); err != nil {
		t.Fatalf("ladon cannot read the condition back: %v", err)
	}
	w, ok := back[ContextKeyTime].(*TimeWindowCondition)
	if !ok || !w.From.Equal(ifauFrom) || !w.Until.Equal(ifauUntil) {
		t.Errorf("round trip gave %#v", back[ContextKeyTime])
	}
	tests := []struct {
		value any
		want  bool
	}{
		{insideIfau, true},
		{insideIfau.Format(time.RFC3339), true},
		{ifauUntil, false},
		{"yesterday", false},
		{42, false},
		{nil, false},
	}
	for _, tt := range tests {
		if got := w.Fulfills(context.Background(), tt.value, nil); got != tt.want {
			t.Errorf("Fulfills(%v) = %v, want %v", tt.value, got, tt.want)
		}
	}
}
