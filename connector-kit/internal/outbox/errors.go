package outbox

import "errors"

// ErrClosed is returned by every method called after [Outbox.Close], and by a
// [Outbox.Next] that was waiting when the outbox was closed.
var ErrClosed = errors.New("outbox: closed")

// ErrFull is returned (wrapped) by [Outbox.Append] when the record would take
// the bytes not yet acknowledged past the configured maximum
// ([WithMaxBytes]). The HTTP API answers 503: the hub has been away for too
// long.
var ErrFull = errors.New("outbox: full")

// ErrTooLarge is returned (wrapped) by [Outbox.Append] when an encoded record
// is larger than the configured maximum ([WithMaxRecordBytes]).
var ErrTooLarge = errors.New("outbox: record too large")

// ErrInvalidEntry is returned (wrapped) by [Outbox.Append] for an entry
// without a dataset or without an id.
var ErrInvalidEntry = errors.New("outbox: invalid entry")

// ErrInvalidOption is returned (wrapped) by [Open] when an [Option] is given
// a value it cannot use.
var ErrInvalidOption = errors.New("outbox: invalid option")

// ErrCorrupt is returned (wrapped, with the file and the offset) by [Open]
// and [Outbox.Next] when stored data does not check out and is not a torn
// tail left by a crash.
var ErrCorrupt = errors.New("outbox: corrupt data")

// ErrLocked is returned (wrapped) by [Open] when another Outbox, in this
// process or another one, has the directory open.
var ErrLocked = errors.New("outbox: directory in use")

// ErrUnknownSeq is returned (wrapped) by [Outbox.Ack] for a sequence number
// that [Outbox.Next] has not handed out since Open.
var ErrUnknownSeq = errors.New("outbox: sequence number not handed out")
