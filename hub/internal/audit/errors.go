package audit

import "errors"

// ErrInvalidOption is wrapped by [Open] when an [Option] is invalid.
var ErrInvalidOption = errors.New("invalid audit option")

// ErrInvalidEntry is wrapped by [Log.Append] for an entry it cannot record:
// no kind, or a detail that is not JSON.
var ErrInvalidEntry = errors.New("invalid audit entry")

// ErrConflict is wrapped by [Log.Append] when other writers kept appending
// between every re-read of the last entry, so the entry could not be chained.
var ErrConflict = errors.New("audit log append conflict")

// ErrBadEntry is wrapped by [Log.Tail] for a stored message that does not
// decode as an entry. [Log.Verify] reports such a message as a [Problem].
var ErrBadEntry = errors.New("stored audit entry does not decode")
