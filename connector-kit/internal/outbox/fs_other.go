//go:build !unix

package outbox

// syncDir does nothing where directories cannot be fsynced.
func syncDir(string) error { return nil }
