package accessreq

import "errors"

// Errors of the service; each is wrapped with what and where.
var (
	// ErrInvalid: a request with a bad dataset, action, purpose or end date.
	ErrInvalid = errors.New("invalid access request")
	// ErrNotFound: no request with that id.
	ErrNotFound = errors.New("no such access request")
	// ErrDecided: the request was approved or declined already.
	ErrDecided = errors.New("access request already decided")
	// ErrDuplicate: the actor already has a pending request for the same
	// dataset and action.
	ErrDuplicate = errors.New("access request already pending")
)
