//go:build unix

package ingest_test

import (
	"syscall"
	"time"
)

// processCPU is the CPU time this process has used (user and system): on a
// shared machine it measures what a path costs, where the wall clock
// measures also what other processes took.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
