// Package buildinfo says which build of the hub or the connector is
// running: the module version and the VCS commit the Go toolchain stamped
// into the binary. Both commands print it for --version, so a bug report
// names the exact code, and an operator can tell two binaries apart.
package buildinfo

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
	"time"
)

// Info is what a binary knows about its own build.
type Info struct {
	// Version is the main module's version: a tag or pseudo-version when
	// the toolchain could read it, "(devel)" for a build from a work tree
	// without one.
	Version string `json:"version"`
	// Commit is the VCS revision, empty when the build was not stamped
	// (go build -buildvcs=false, or a source tree without its .git).
	Commit string `json:"commit,omitempty"`
	// Time is the commit's time; zero when unknown.
	Time time.Time `json:"commit_time,omitzero"`
	// Modified is true when the work tree had uncommitted changes.
	Modified bool `json:"modified,omitempty"`
	// Go is the toolchain that built the binary, with its OS and
	// architecture.
	Go string `json:"go"`
}

// Read returns the running binary's build information.
func Read() Info {
	bi, _ := debug.ReadBuildInfo()
	return From(bi)
}

// From extracts Info from bi; a nil bi (a binary built without module
// support) gives "(devel)" and no commit.
func From(bi *debug.BuildInfo) Info {
	i := Info{Version: "(devel)", Go: runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH}
	if bi == nil {
		return i
	}
	if v := bi.Main.Version; v != "" {
		i.Version = v
	}
	if bi.GoVersion != "" {
		i.Go = bi.GoVersion + " " + runtime.GOOS + "/" + runtime.GOARCH
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			i.Commit = s.Value
		case "vcs.time":
			i.Time, _ = time.Parse(time.RFC3339, s.Value)
		case "vcs.modified":
			i.Modified = s.Value == "true"
		}
	}
	return i
}

// String is the one line --version prints after the program's name, e.g.
//
//	v1.2.0, commit 8d4e87f20376 (2026-11-30T10:39:38Z), go1.26.8 linux/amd64
//	(devel), commit 8d4e87f20376 (2026-11-30T10:39:38Z, modified), go1.26.8 linux/amd64
//	(devel), commit unknown (built without VCS information), go1.26.8 linux/amd64
func (i Info) String() string {
	var b strings.Builder
	b.WriteString(i.Version)
	if i.Commit == "" {
		b.WriteString(", commit unknown (built without VCS information)")
	} else {
		commit := i.Commit
		if len(commit) > 12 {
			commit = commit[:12]
		}
		fmt.Fprintf(&b, ", commit %s", commit)
		var notes []string
		if !i.Time.IsZero() {
			notes = append(notes, i.Time.UTC().Format(time.RFC3339))
		}
		if i.Modified {
			notes = append(notes, "modified")
		}
		if len(notes) > 0 {
			fmt.Fprintf(&b, " (%s)", strings.Join(notes, ", "))
		}
	}
	fmt.Fprintf(&b, ", %s", i.Go)
	return b.String()
}
