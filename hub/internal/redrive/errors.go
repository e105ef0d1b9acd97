package redrive

import "errors"

// Errors of Redrive.
var (
	// ErrNotFound: no dead letter of the dataset at that sequence.
	ErrNotFound = errors.New("no such dead letter")
	// ErrNotRedrivable: the dead letter cannot be stored as it was
	// published: it was cut to its first 64 KiB, or names no publisher.
	ErrNotRedrivable = errors.New("dead letter cannot be re-driven")
	// ErrAlreadyRedriven: the dead letter was re-driven and stored before.
	ErrAlreadyRedriven = errors.New("dead letter already re-driven")
)
