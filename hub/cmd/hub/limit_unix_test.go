//go:build unix

package main_test

import (
	"fmt"
	"os"
	"strconv"
	"syscall"
)

// fileLimitEnv asks the test binary to run a program under a file
// descriptor limit instead of the tests: os.Args[1:] is the program and its
// arguments. It is how a test starts the hub with a low limit from its very
// first instruction (Go raises the soft limit to the hard one at start, so
// both are set).
const fileLimitEnv = "HUB_TEST_NOFILE"

func execWithFileLimitIfAsked() {
	v := os.Getenv(fileLimitEnv)
	if v == "" {
		return
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err == nil {
		err = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: n, Max: n})
	}
	if err == nil {
		err = syscall.Exec(os.Args[1], os.Args[1:], os.Environ())
	}
	fmt.Fprintf(os.Stderr, "run %v with %s=%s: %v\n", os.Args[1:], fileLimitEnv, v, err)
	os.Exit(2)
}
