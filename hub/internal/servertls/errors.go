package servertls

import "errors"

var (
	// ErrExpired refuses a certificate that is no longer (or not yet)
	// valid: every client would refuse it.
	ErrExpired = errors.New("certificate is not valid now")
	// ErrNotConfigured: the hub serves no TLS, so there is nothing to reload.
	ErrNotConfigured = errors.New("the hub serves no TLS (no --tls-cert): nothing to reload")
)
