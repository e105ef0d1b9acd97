package compat

import (
	"fmt"
	"io"
	"strings"
)

// WriteText writes a report as `hub schema check` and `hub schema add`
// print it: a verdict line, then each breaking change with its direction,
// type, the version it breaks, a pointer into each schema and its message.
func (r Report) WriteText(w io.Writer) error {
	var b strings.Builder
	against := "no earlier version"
	if len(r.Checked) > 0 {
		vs := make([]string, len(r.Checked))
		for i, v := range r.Checked {
			vs[i] = fmt.Sprint(v)
		}
		against = "version " + strings.Join(vs, ", ")
		if len(vs) > 1 {
			against = "versions " + strings.Join(vs, ", ")
		}
	}
	if r.Compatible {
		fmt.Fprintf(&b, "version %d is compatible under %s (checked against %s)\n", r.Version, r.Mode, against)
	} else {
		plural := "s"
		if len(r.Breaking) == 1 {
			plural = ""
		}
		fmt.Fprintf(&b, "version %d refused under %s: %d breaking change%s (checked against %s)\n", r.Version, r.Mode, len(r.Breaking), plural, against)
	}
	for _, c := range r.Breaking {
		fmt.Fprintf(&b, "  %s %s, against version %d\n    old: %s\n    new: %s\n    %s\n",
			c.Breaks, c.Type, c.Version, showPointer(c.OldPointer), showPointer(c.NewPointer), c.Message)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteChanges writes changes as `hub schema diff` prints them: one line
// each with the direction it breaks (or none), its type and both pointers,
// then its message indented.
func WriteChanges(w io.Writer, cs []Change) error {
	var b strings.Builder
	if len(cs) == 0 {
		b.WriteString("no changes\n")
	}
	for _, c := range cs {
		fmt.Fprintf(&b, "%-8s %s  old: %s  new: %s\n    %s\n", c.Breaks, c.Type, showPointer(c.OldPointer), showPointer(c.NewPointer), c.Message)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// showPointer shows a schema pointer; the root pointer "" as "(root)".
func showPointer(p string) string {
	if p == "" {
		return "(root)"
	}
	return p
}
