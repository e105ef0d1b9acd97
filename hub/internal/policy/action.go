package policy

import "slices"

// The actions a policy can allow or deny. They are the whole vocabulary: a
// policy naming any other action does not load.
const (
	// ActionPublish lets an actor publish records to a dataset.
	ActionPublish = "publish"
	// ActionSubscribe lets an actor receive a dataset's records.
	ActionSubscribe = "subscribe"
	// ActionReadSchema lets an actor read a dataset's schemas.
	ActionReadSchema = "read-schema"
	// ActionRegisterSchema lets an actor register a new schema version.
	ActionRegisterSchema = "register-schema"
)

// actions is the vocabulary in a fixed order; an action's index is its bit in
// a compiled policy's action mask.
var actions = [...]string{ActionPublish, ActionSubscribe, ActionReadSchema, ActionRegisterSchema}

// Actions returns every known action, in a fixed order (publish, subscribe,
// read-schema, register-schema). The slice is a fresh copy.
func Actions() []string { return slices.Clone(actions[:]) }

// actionBit returns the mask bit of a known action, or 0 if it is unknown.
func actionBit(action string) uint8 {
	for i, a := range actions {
		if a == action {
			return 1 << i
		}
	}
	return 0
}
