package compat

import "fmt"

// Direction says which way a change breaks compatibility.
type Direction uint8

// The directions a change can break. A change that breaks neither is listed
// by [Diff] for information only.
const (
	// DirNone: the change breaks neither direction.
	DirNone Direction = 0
	// DirBackward: a record valid under the old schema may fail the new one,
	// so readers using the new schema may not read old data.
	DirBackward Direction = 1
	// DirForward: a record valid under the new schema may fail the old one,
	// so readers still using the old schema may not read new data.
	DirForward Direction = 2
	// DirBoth: both.
	DirBoth = DirBackward | DirForward
)

// String returns "none", "backward", "forward" or "both".
func (d Direction) String() string {
	switch d {
	case DirNone:
		return "none"
	case DirBackward:
		return "backward"
	case DirForward:
		return "forward"
	case DirBoth:
		return "both"
	}
	return fmt.Sprintf("Direction(%d)", uint8(d))
}

// MarshalText renders the direction as its name, so JSON output reads
// "breaks": "backward".
func (d Direction) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText reads a direction name.
func (d *Direction) UnmarshalText(b []byte) error {
	for _, x := range []Direction{DirNone, DirBackward, DirForward, DirBoth} {
		if x.String() == string(b) {
			*d = x
			return nil
		}
	}
	return fmt.Errorf("unknown direction %q (want none, backward, forward or both)", b)
}

// Has reports whether d includes every direction of x.
func (d Direction) Has(x Direction) bool { return d&x == x && x != DirNone }

// Change is one difference between two versions of a schema.
type Change struct {
	// Type names the kind of change, e.g. REQUIRED_PROPERTY_ADDED.
	Type ChangeType `json:"type"`
	// Breaks is the direction the change breaks, DirNone if it breaks neither.
	Breaks Direction `json:"breaks"`
	// OldPointer and NewPointer locate the change in the old and the new
	// schema: a JSON pointer into the schema document ("" is its root), or
	// "RESOURCE#POINTER" inside a referenced resource. Where a keyword is
	// absent on one side, that side's pointer is the schema object that
	// lacks it.
	OldPointer string `json:"old_pointer"`
	NewPointer string `json:"new_pointer"`
	// Instance is where in a record the change applies: a JSON pointer in
	// which "*" stands for any array item and any property the schema does
	// not name.
	Instance string `json:"instance"`
	// Message says in plain English what changed and, for a breaking
	// change, what breaks. A change the checker could not prove harmless
	// starts with "cannot prove".
	Message string `json:"message"`
	// Version is the version of the old document the change was found
	// against (its Document.Version).
	Version int `json:"version"`
}

// String renders a change on one line: version, direction, type, pointers, message.
func (c Change) String() string {
	return fmt.Sprintf("v%d %s %s old=%q new=%q: %s", c.Version, c.Breaks, c.Type, c.OldPointer, c.NewPointer, c.Message)
}
