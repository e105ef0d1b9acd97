//go:build !unix

package fds

// Limit is 0: unknown on this platform.
func Limit() int { return 0 }
