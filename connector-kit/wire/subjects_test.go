package wire

import (
	"os/exec"
	"strings"
	"testing"
)

func TestEncodeKey(t *testing.T) {
	tests := []struct{ key, token string }{
		{"22884504", "22884504"},
		{"vrDq_rUY_7PX", "vrDq_rUY_7PX"},
		{"a.b", "a~2Eb"},
		{"a b*>", "a~20b~2A~3E"},
		{"~", "~7E"},
		{"", "~"},
		{"Malmö", "Malm~C3~B6"},
	}
	for _, tc := range tests {
		if got := EncodeKey(tc.key); got != tc.token {
			t.Errorf("EncodeKey(%q) = %q, want %q", tc.key, got, tc.token)
		}
		back, err := DecodeKey(tc.token)
		if err != nil || back != tc.key {
			t.Errorf("DecodeKey(%q) = %q, %v; want %q", tc.token, back, err, tc.key)
		}
	}
	for _, bad := range []string{"a~2", "a~ZZ", "~4"} {
		if _, err := DecodeKey(bad); err == nil {
			t.Errorf("DecodeKey(%q): no error", bad)
		}
	}
}

// FuzzEncodeKey checks that every key becomes one valid subject token and
// comes back unchanged, and that distinct keys never share a token.
func FuzzEncodeKey(f *testing.F) {
	for _, s := range []string{"22884504", "a.b", "", "~", "Malmö", "a~2Eb", "*>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, key string) {
		tok := EncodeKey(key)
		if tok == "" || strings.ContainsAny(tok, ". \t\r\n*>") {
			t.Fatalf("EncodeKey(%q) = %q: not a single subject token", key, tok)
		}
		back, err := DecodeKey(tok)
		if err != nil || back != key {
			t.Fatalf("round trip %q → %q → %q, %v", key, tok, back, err)
		}
	})
}

func TestSubjects(t *testing.T) {
	if s := IngestSubject("jobads", "jobbland"); s != "ingest.jobads.jobbland" {
		t.Fatal(s)
	}
	ds, actor, err := ParseIngestSubject("ingest.jobads.jobbland")
	if err != nil || ds != "jobads" || actor != "jobbland" {
		t.Fatalf("%q %q %v", ds, actor, err)
	}
	// A hub node's validators get the subject with the node's token.
	ds, actor, err = ParseIngestSubject("ingest.jobads.jobbland.hub-1")
	if err != nil || ds != "jobads" || actor != "jobbland" {
		t.Fatalf("with a node token: %q %q %v", ds, actor, err)
	}
	if s := ActorIngestSubject("ingest.jobads.jobbland.hub-1"); s != "ingest.jobads.jobbland" {
		t.Fatalf("ActorIngestSubject = %q", s)
	}
	if s := ActorIngestSubject("hub.subscribe.jobads.jobbland"); s != "hub.subscribe.jobads.jobbland" {
		t.Fatalf("ActorIngestSubject changed another subject: %q", s)
	}
	for _, bad := range []string{"data.jobads.x", "ingest.jobads", "ingest..x", "ingest.jobads.a.b.c", "ingest.jobads.a."} {
		if _, _, err := ParseIngestSubject(bad); err == nil {
			t.Errorf("ParseIngestSubject(%q): no error", bad)
		}
	}
	for name, ok := range map[string]bool{"jobads": true, "taxonomy-concepts": true, "Jobads": false, "a.b": false, "a*": false, "": false, "1x": false} {
		if ValidName(name) != ok {
			t.Errorf("ValidName(%q) = %v", name, !ok)
		}
	}
	for id, ok := range map[string]bool{"ad-1": true, "has space": false, "": false, strings.Repeat("x", 129): false, "å": false} {
		if ValidRecordID(id) != ok {
			t.Errorf("ValidRecordID(%q) = %v", id, !ok)
		}
	}
	if DeliverSubject("matchwise", "jobads", "c1") != "deliver.matchwise.jobads.c1" || DataFilter("jobads") != "data.jobads.>" {
		t.Fatal("subject layout changed")
	}
}

// TestWireIsALeaf keeps the protocol package free of dependencies: any
// client in any language may copy it, and linking it must not drag in a
// JSON decoder or the JSON Schema engine.
func TestWireIsALeaf(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.Contains(dep, ".") && dep != "github.com/jobtech-dev/datahub/connector-kit/wire" {
			t.Errorf("wire depends on %s: it must use the standard library only", dep)
		}
	}
}

func TestEnvelopeID(t *testing.T) {
	id := EnvelopeID("hub", "jobbland", "jobads:squat-77")
	if id != "hub:jobbland:jobads:squat-77" {
		t.Fatal(id)
	}
	o, p, r, ok := SplitEnvelopeID(id)
	if !ok || o != "hub" || p != "jobbland" || r != "jobads:squat-77" {
		t.Fatalf("%q %q %q %v", o, p, r, ok)
	}
	for _, bad := range []string{"", "hub", "hub:jobbland", ":a:b", "a::b", "a:b:"} {
		if _, _, _, ok := SplitEnvelopeID(bad); ok {
			t.Errorf("SplitEnvelopeID(%q) ok", bad)
		}
	}
	if s := ScopedDataSubject("jobads", "a.b", "hub", "jobbland"); s != "data.jobads.a~2Eb.hub.jobbland" {
		t.Fatal(s)
	}
}
