package cli_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"unsafe"

	"github.com/jobtech-dev/datahub/connector-kit/kittest"
)

// openPTY opens a pseudo-terminal and returns its two ends.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	var unlock int32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, m.Fd(), syscall.TIOCSPTLCK, uintptr(unsafe.Pointer(&unlock))); e != 0 {
		t.Fatal(e)
	}
	var n uint32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, m.Fd(), syscall.TIOCGPTN, uintptr(unsafe.Pointer(&n))); e != 0 {
		t.Fatal(e)
	}
	s, err := os.OpenFile("/dev/pts/"+itoa(n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close(); s.Close() })
	return m, s
}

func itoa(n uint32) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

// On a terminal, import draws a bar for a file (its count is known) and a
// spinner with the rate for a pipe (it is not); off a terminal, nothing.
func TestImportProgressOnATerminal(t *testing.T) {
	t.Parallel()
	h := kittest.Start(t, "")
	creds := h.Actor("arbetsformedlingen")
	file := filepath.Join(kittest.JobTechData(), "job-ads.ndjson")
	ads, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		args  []string
		stdin []byte
		want  string
		not   string
	}{
		{"file: a bar", []string{file}, nil, "100%", ""},
		{"pipe: a spinner with the rate", []string{"-"}, ads, "records/s", "100%"},
	} {
		master, slave := openPTY(t)
		var mu sync.Mutex
		var drawn bytes.Buffer
		done := make(chan struct{})
		go func() {
			defer close(done)
			b := make([]byte, 4096)
			for {
				n, err := master.Read(b)
				mu.Lock()
				drawn.Write(b[:n])
				mu.Unlock()
				if err != nil {
					return
				}
			}
		}()
		cmd := exec.Command(kittest.Bin(t, "connector"), append([]string{"import", "--dataset", "jobads", "--hub", h.NATSURL(), "--credentials", creds}, tc.args...)...)
		var stdout bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, slave
		if tc.stdin != nil {
			cmd.Stdin = bytes.NewReader(tc.stdin)
		}
		if err := cmd.Run(); err != nil {
			t.Fatalf("%s: %v\n%s", tc.name, err, stdout.String())
		}
		slave.Close()
		master.Close()
		<-done
		mu.Lock()
		got := drawn.String()
		mu.Unlock()
		if !strings.Contains(got, "importing") || !strings.Contains(got, tc.want) || (tc.not != "" && strings.Contains(got, tc.not)) {
			t.Fatalf("%s: terminal shows %q, want %q and not %q", tc.name, got, tc.want, tc.not)
		}
		if !strings.Contains(stdout.String(), "3 records in") {
			t.Fatalf("%s: summary %q", tc.name, stdout.String())
		}
	}
}
