package webhook

import "errors"

// Errors returned by the sink and by Verify.
var (
	// ErrRejected means the endpoint refused a delivery with a status that
	// retrying cannot fix (a 4xx other than 408 and 429). It is recorded in
	// the dead-letter file, not returned by Write.
	ErrRejected = errors.New("webhook: endpoint rejected the delivery")
	// ErrRetriesExhausted means every allowed attempt failed with a
	// retryable error. It is recorded in the dead-letter file, not returned
	// by Write.
	ErrRetriesExhausted = errors.New("webhook: retries exhausted")
	// ErrClosed is returned by Write and WriteBatch after Close.
	ErrClosed = errors.New("webhook: sink closed")
	// ErrInvalidSignature is returned by Verify for a missing, malformed or
	// wrong signature.
	ErrInvalidSignature = errors.New("webhook: invalid signature")
	// ErrInvalidTimestamp is returned by Verify for a malformed timestamp or
	// one further than the allowed skew from now.
	ErrInvalidTimestamp = errors.New("webhook: invalid timestamp")
	// ErrInvalidOption wraps every invalid Option given to New.
	ErrInvalidOption = errors.New("webhook: invalid option")
)
