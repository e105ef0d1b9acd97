package federation

import "errors"

// Errors of the federation service.
var (
	// ErrInvalidLink: a link that cannot be: a bad name, URL, identity or
	// dataset mapping; the message says which.
	ErrInvalidLink = errors.New("invalid link")
	// ErrLinkExists: a link of that name exists (replace it, or remove it
	// first).
	ErrLinkExists = errors.New("link exists")
	// ErrNoLink: no link of that name.
	ErrNoLink = errors.New("no such link")
	// ErrNoAnchor: no anchor of that peer is held here yet.
	ErrNoAnchor = errors.New("no anchor held of that peer")
)
