package buildinfo

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestStringNamesVersionCommitAndState(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		bi   *debug.BuildInfo
		want []string
		not  []string
	}{
		{"tagged", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.0"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "8d4e87f20376900f6fd3629f8f945d70452c82f0"}, {Key: "vcs.time", Value: "2026-11-30T10:39:38Z"}, {Key: "vcs.modified", Value: "false"}}},
			[]string{"v1.2.0, commit 8d4e87f20376 (2026-11-30T10:39:38Z), go1.26.8 "}, []string{"modified"}},
		{"work tree with changes", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "8d4e87f20376900f6fd3629f8f945d70452c82f0"}, {Key: "vcs.time", Value: "2026-11-30T10:39:38Z"}, {Key: "vcs.modified", Value: "true"}}},
			[]string{"(devel), commit 8d4e87f20376 (2026-11-30T10:39:38Z, modified)"}, nil},
		{"no VCS stamp", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}},
			[]string{"(devel), commit unknown (built without VCS information), go1.26.8"}, nil},
		{"no build info", nil, []string{"(devel), commit unknown"}, nil},
	} {
		got := From(tc.bi).String()
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: %q lacks %q", tc.name, got, w)
			}
		}
		for _, n := range tc.not {
			if strings.Contains(got, n) {
				t.Errorf("%s: %q has %q", tc.name, got, n)
			}
		}
	}
}
