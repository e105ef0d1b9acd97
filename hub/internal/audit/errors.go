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

// ErrNoReason is returned by [Log.Seal] without a reason.
var ErrNoReason = errors.New("a seal needs a reason")

// ErrNothingToSeal is returned by [Log.Seal] when the log verifies: there is
// no break to acknowledge.
var ErrNothingToSeal = errors.New("nothing to seal: the audit log verifies")

// ErrNoKey is wrapped by [Log.Seal] and [Log.Trim] when the Log has no
// anchor key to sign with (see [WithAnchorKey]).
var ErrNoKey = errors.New("no audit anchor key")

// ErrInvalidKey is wrapped by [LoadOrCreateKey] for a key file that is not
// an anchor key, or that others may read.
var ErrInvalidKey = errors.New("invalid audit anchor key file")

// ErrDiverged is wrapped by [Anchorer.Publish] when the log no longer
// passes through the last anchor and no seal acknowledges it.
var ErrDiverged = errors.New("audit log does not pass through its last anchor")

// ErrNoAnchor is wrapped by [ReadLastAnchor] for a file without a valid
// anchor line.
var ErrNoAnchor = errors.New("no valid audit anchor")
