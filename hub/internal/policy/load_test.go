package policy

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeDir writes files (name → content) into a fresh temporary directory.
func writeDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// pol renders a policy object with the given id and extra/overridden JSON members.
func pol(id string, members ...string) string {
	fields := map[string]string{
		"id":        `"` + id + `"`,
		"subjects":  `["actor:jobbland"]`,
		"resources": `["dataset:jobads"]`,
		"actions":   `["publish"]`,
		"effect":    `"allow"`,
	}
	order := []string{"id", "subjects", "resources", "actions", "effect"}
	for _, m := range members {
		k, v, _ := strings.Cut(m, "=")
		if _, ok := fields[k]; !ok {
			order = append(order, k)
		}
		fields[k] = v
	}
	var b strings.Builder
	b.WriteString("{")
	first := true
	for _, k := range order {
		v := fields[k]
		if v == "-" { // drop the member
			continue
		}
		if !first {
			b.WriteString(", ")
		}
		first = false
		b.WriteString(`"` + k + `": ` + v)
	}
	b.WriteString("}")
	return b.String()
}

func TestLoadDirErrors(t *testing.T) {
	cond := func(typ, key, options string) string {
		return `conditions={"` + key + `": {"type": "` + typ + `", "options": ` + options + `}}`
	}
	tests := []struct {
		name    string
		files   map[string]string
		wantErr error
		want    []string // substrings of the error: file, policy id, field
	}{
		{"unknown field", map[string]string{"a.json": pol("p1", `meta="x"`)},
			ErrUnknownField, []string{"a.json", `policy "p1"`, "meta"}},
		{"unknown field in array element", map[string]string{"a.json": "[" + pol("ok") + ", " + pol("p2", `subject=["actor:x"]`) + "]"},
			ErrUnknownField, []string{"a.json", `policy "p2"`, "subject"}},
		{"unknown field in condition", map[string]string{"a.json": pol("p3", `conditions={"time": {"type": "TimeWindowCondition", "opts": {}}}`)},
			ErrUnknownField, []string{"a.json", `policy "p3"`, "opts"}},
		{"wrong type", map[string]string{"a.json": pol("p4", `actions="publish"`)},
			ErrInvalidPolicy, []string{"a.json", `policy "p4"`, "actions"}},
		{"missing id", map[string]string{"a.json": "[" + pol("ok") + ", " + pol("x", `id=-`) + "]"},
			ErrMissingID, []string{"a.json", "policy #2 (no id)", "id"}},
		{"blank id", map[string]string{"a.json": pol("  ")},
			ErrMissingID, []string{"a.json", "id"}},
		{"duplicate id in a file", map[string]string{"a.json": "[" + pol("dup") + ", " + pol("dup") + "]"},
			ErrDuplicateID, []string{"a.json", `policy "dup"`, "id", "same file"}},
		{"duplicate id across files", map[string]string{"a.json": pol("dup"), "b.json": pol("dup")},
			ErrDuplicateID, []string{"b.json", `policy "dup"`, "first defined in", "a.json"}},
		{"bad effect", map[string]string{"a.json": pol("p5", `effect="permit"`)},
			ErrInvalidEffect, []string{"a.json", `policy "p5"`, "effect", "permit"}},
		{"empty subjects", map[string]string{"a.json": pol("p6", `subjects=[]`)},
			ErrEmptyList, []string{"a.json", `policy "p6"`, "subjects"}},
		{"missing resources", map[string]string{"a.json": pol("p7", `resources=-`)},
			ErrEmptyList, []string{"a.json", `policy "p7"`, "resources"}},
		{"empty actions", map[string]string{"a.json": pol("p8", `actions=[]`)},
			ErrEmptyList, []string{"a.json", `policy "p8"`, "actions"}},
		{"subject outside vocabulary", map[string]string{"a.json": pol("p9", `subjects=["user:bob"]`)},
			ErrInvalidSubject, []string{"a.json", `policy "p9"`, "subjects[0]"}},
		{"subject with bad name", map[string]string{"a.json": pol("p10", `subjects=["actor:Job Land"]`)},
			ErrInvalidSubject, []string{"a.json", `policy "p10"`, "subjects[0]"}},
		{"resource outside vocabulary", map[string]string{"a.json": pol("p11", `resources=["jobads"]`)},
			ErrInvalidResource, []string{"a.json", `policy "p11"`, "resources[0]"}},
		{"bad subject regex", map[string]string{"a.json": pol("p12", `subjects=["actor:<[a-z>"]`)},
			ErrBadPattern, []string{"a.json", `policy "p12"`, "subjects[0]"}},
		{"unbalanced delimiters", map[string]string{"a.json": pol("p13", `resources=["dataset:<.*"]`)},
			ErrBadPattern, []string{"a.json", `policy "p13"`, "resources[0]"}},
		{"bad action regex", map[string]string{"a.json": pol("p14", `actions=["<(publish>"]`)},
			ErrBadPattern, []string{"a.json", `policy "p14"`, "actions[0]"}},
		{"unknown action", map[string]string{"a.json": pol("p15", `actions=["publish", "delete"]`)},
			ErrUnknownAction, []string{"a.json", `policy "p15"`, "actions[1]", "delete"}},
		{"action pattern matching nothing", map[string]string{"a.json": pol("p16", `actions=["<read|write>"]`)},
			ErrUnknownAction, []string{"a.json", `policy "p16"`, "actions[0]"}},
		{"unknown condition type", map[string]string{"a.json": pol("p17", cond("StringEqualCondition", "time", `{"equals": "x"}`))},
			ErrUnknownCondition, []string{"a.json", `policy "p17"`, "conditions.time", "StringEqualCondition"}},
		{"condition under other key", map[string]string{"a.json": pol("p18", cond("CIDRCondition", "ip", `{"cidr": "10.0.0.0/8"}`))},
			ErrUnknownCondition, []string{"a.json", `policy "p18"`, "conditions.ip"}},
		{"time window under network key", map[string]string{"a.json": pol("p19", cond("TimeWindowCondition", "remote_ip", `{"from": "2026-01-01T00:00:00Z"}`))},
			ErrUnknownCondition, []string{"a.json", `policy "p19"`, "conditions.remote_ip"}},
		{"bad CIDR", map[string]string{"a.json": pol("p20", cond("CIDRCondition", "remote_ip", `{"cidr": "10.0.0.0/33"}`))},
			ErrInvalidCondition, []string{"a.json", `policy "p20"`, "conditions.remote_ip", "10.0.0.0/33"}},
		{"missing CIDR", map[string]string{"a.json": pol("p21", cond("CIDRCondition", "remote_ip", `{}`))},
			ErrInvalidCondition, []string{"a.json", `policy "p21"`, "conditions.remote_ip"}},
		{"unknown option", map[string]string{"a.json": pol("p22", cond("CIDRCondition", "remote_ip", `{"cidr": "10.0.0.0/8", "port": 1}`))},
			ErrUnknownField, []string{"a.json", `policy "p22"`, "conditions.remote_ip", "options.port"}},
		{"window without bounds", map[string]string{"a.json": pol("p23", cond("TimeWindowCondition", "time", `{}`))},
			ErrInvalidCondition, []string{"a.json", `policy "p23"`, "conditions.time"}},
		{"window bad time", map[string]string{"a.json": pol("p24", cond("TimeWindowCondition", "time", `{"from": "2026-01-01"}`))},
			ErrInvalidCondition, []string{"a.json", `policy "p24"`, "conditions.time", "from"}},
		{"window until before from", map[string]string{"a.json": pol("p25", cond("TimeWindowCondition", "time", `{"from": "2026-01-01T00:00:00Z", "until": "2025-01-01T00:00:00Z"}`))},
			ErrInvalidCondition, []string{"a.json", `policy "p25"`, "conditions.time", "until"}},
		{"window without options", map[string]string{"a.json": pol("p26", `conditions={"time": {"type": "TimeWindowCondition"}}`)},
			ErrInvalidCondition, []string{"a.json", `policy "p26"`, "conditions.time"}},
		{"malformed JSON", map[string]string{"a.json": "{\n  \"id\": \"p27\",\n  \"effect\": allow\n}"},
			ErrSyntax, []string{"a.json", "line 3"}},
		{"top level not an object", map[string]string{"a.json": `"policy"`},
			ErrSyntax, []string{"a.json"}},
		{"trailing data", map[string]string{"a.json": pol("p28") + pol("p29")},
			ErrSyntax, []string{"a.json"}},
		{"unknown group", map[string]string{"a.json": pol("p30", `subjects=["group:boards"]`)},
			ErrUnknownGroup, []string{"a.json", `policy "p30"`, "subjects", "boards"}},
		{"groups unknown field", map[string]string{"a.json": pol("ok"), GroupsFile: "groups:\n  job-boards: [jobbland]\nmembers: {}\n"},
			ErrInvalidGroups, []string{GroupsFile, "members"}},
		{"groups bad actor name", map[string]string{"a.json": pol("ok"), GroupsFile: "groups:\n  job-boards: [Jobbland]\n"},
			ErrInvalidGroups, []string{GroupsFile, "job-boards", "Jobbland"}},
		{"groups bad group name", map[string]string{"a.json": pol("ok"), GroupsFile: "groups:\n  Job_Boards: [jobbland]\n"},
			ErrInvalidGroups, []string{GroupsFile, "Job_Boards"}},
		{"groups duplicate member", map[string]string{"a.json": pol("ok"), GroupsFile: "groups:\n  job-boards: [jobbland, jobbland]\n"},
			ErrInvalidGroups, []string{GroupsFile, "twice"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeDir(t, tt.files)
			set, err := LoadDir(dir)
			if err == nil {
				t.Fatalf("LoadDir: no error, want %v", tt.wantErr)
			}
			if set != nil {
				t.Errorf("LoadDir returned a Set with an error")
			}
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("error %q does not match %v", err, tt.wantErr)
			}
			if !errors.Is(err, ErrInvalidPolicy) {
				t.Errorf("error %q does not match ErrInvalidPolicy", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestLoadDirCollectsAllErrorsAndIsAllOrNothing(t *testing.T) {
	dir := writeDir(t, map[string]string{
		"good.json": "[" + pol("fine-1") + ", " + pol("fine-2") + "]",
		"bad.json":  "[" + pol("bad-effect", `effect="maybe"`) + ", " + pol("bad-action", `actions=["delete"]`) + "]",
		"notes.md":  "ignored: not a policy file",
	})
	set, err := LoadDir(dir)
	if set != nil {
		t.Fatalf("LoadDir returned a Set (%d policies) despite a bad file", set.Len())
	}
	for _, w := range []string{`policy "bad-effect"`, `policy "bad-action"`, "bad.json"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("error %v does not mention %q", err, w)
		}
	}
	if !errors.Is(err, ErrInvalidEffect) || !errors.Is(err, ErrUnknownAction) {
		t.Errorf("error %v should match both ErrInvalidEffect and ErrUnknownAction", err)
	}
}

func TestLoadFile(t *testing.T) {
	dir := writeDir(t, map[string]string{
		"one.json":   pol("single"),
		"many.json":  "[" + pol("a") + ", " + pol("b", `subjects=["group:x"]`) + "]",
		"bad.json":   pol("broken", `effect="nope"`),
		"empty.json": "  \n",
	})
	tests := []struct {
		file    string
		wantIDs []string
		wantErr error
	}{
		{"one.json", []string{"single"}, nil},
		{"many.json", []string{"a", "b"}, nil}, // group references are checked by LoadDir only
		{"bad.json", nil, ErrInvalidEffect},
		{"empty.json", nil, ErrSyntax},
		{"missing.json", nil, os.ErrNotExist},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			set, err := LoadFile(filepath.Join(dir, tt.file))
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || set != nil {
					t.Fatalf("LoadFile = %v, %v; want nil, %v", set, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(set.PolicyIDs(), ","); got != strings.Join(tt.wantIDs, ",") {
				t.Errorf("ids = %s, want %s", got, strings.Join(tt.wantIDs, ","))
			}
		})
	}
}

func TestLoadDirMissingDir(t *testing.T) {
	if _, err := LoadDir(filepath.Join(t.TempDir(), "nope")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("err = %v, want not exist", err)
	}
}
