//go:build unix

package fds

import "syscall"

// Limit is the number of descriptors the process may have open (its soft
// RLIMIT_NOFILE, which Go raises to the hard limit at start), or 0 if
// unknown.
func Limit() int {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil || r.Cur > 1<<30 {
		return 0
	}
	return int(r.Cur)
}
