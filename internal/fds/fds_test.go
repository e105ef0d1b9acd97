package fds_test

import (
	"os"
	"runtime"
	"testing"

	"github.com/jobtech-dev/datahub/internal/fds"
)

func TestOpenCountsDescriptors(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("counts /proc/self/fd")
	}
	before, err := fds.Now()
	if err != nil {
		t.Fatal(err)
	}
	if before.Limit <= 0 || before.Open <= 0 || before.Free() <= 0 {
		t.Fatalf("usage %+v", before)
	}
	var files []*os.File
	for range 5 {
		f, err := os.Open(os.DevNull)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	after, err := fds.Open()
	if err != nil {
		t.Fatal(err)
	}
	// Other goroutines of the test binary may open files too.
	if after < before.Open+5 {
		t.Fatalf("open %d after opening 5 more than %d", after, before.Open)
	}
}
