package compat

import (
	"fmt"
	"strings"
)

// Mode is a dataset's compatibility mode: which earlier versions a new
// schema version is checked against, and in which directions. The names and
// meanings are Confluent Schema Registry's.
type Mode string

// The compatibility modes. BACKWARD is the default of a dataset.
const (
	// None accepts any new version.
	None Mode = "NONE"
	// Backward: readers using the new schema can read data written with the
	// previous one (every record valid under the previous version is valid
	// under the new one).
	Backward Mode = "BACKWARD"
	// BackwardTransitive is Backward against every earlier version.
	BackwardTransitive Mode = "BACKWARD_TRANSITIVE"
	// Forward: data written with the new schema can be read by readers of
	// the previous one (every record valid under the new version is valid
	// under the previous one).
	Forward Mode = "FORWARD"
	// ForwardTransitive is Forward against every earlier version.
	ForwardTransitive Mode = "FORWARD_TRANSITIVE"
	// Full is Backward and Forward against the previous version.
	Full Mode = "FULL"
	// FullTransitive is Full against every earlier version.
	FullTransitive Mode = "FULL_TRANSITIVE"
)

// DefaultMode is the mode of a dataset that declares none, as in Confluent.
const DefaultMode = Backward

// Modes returns every mode, for help texts and validation.
func Modes() []Mode {
	return []Mode{None, Backward, BackwardTransitive, Forward, ForwardTransitive, Full, FullTransitive}
}

// ParseMode reads a mode name, case-insensitively ("backward", "FULL_TRANSITIVE");
// "-" may stand for "_". An empty name is [DefaultMode]. Any other name gives
// an error wrapping [ErrUnknownMode] that lists the valid ones.
func ParseMode(s string) (Mode, error) {
	name := strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(s), "-", "_"))
	if name == "" {
		return DefaultMode, nil
	}
	for _, m := range Modes() {
		if string(m) == name {
			return m, nil
		}
	}
	names := make([]string, 0, 7)
	for _, m := range Modes() {
		names = append(names, string(m))
	}
	return "", fmt.Errorf("%w %q (want one of %s)", ErrUnknownMode, s, strings.Join(names, ", "))
}

// Directions returns the directions a mode checks: [Backward], [Forward],
// both or none.
func (m Mode) Directions() Direction {
	switch m {
	case Backward, BackwardTransitive:
		return DirBackward
	case Forward, ForwardTransitive:
		return DirForward
	case Full, FullTransitive:
		return DirBoth
	}
	return DirNone
}

// Transitive reports whether a mode checks against every earlier version
// rather than only the latest.
func (m Mode) Transitive() bool {
	return m == BackwardTransitive || m == ForwardTransitive || m == FullTransitive
}

// valid reports whether m is one of [Modes].
func (m Mode) valid() bool {
	for _, x := range Modes() {
		if m == x {
			return true
		}
	}
	return false
}
