package outbox

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	crashDirEnv   = "OUTBOX_CRASH_DIR"
	crashRoundEnv = "OUTBOX_CRASH_ROUND"
	crashEarlyEnv = "OUTBOX_CRASH_EARLY" // "1": the child reads with WithEarlyNext
)

// crashOptions are shared by the child and the parent: small segments and a
// short floor interval so segments roll over and get deleted during the run.
func crashOptions() []Option {
	return []Option{WithSegmentBytes(256 << 10), WithFloorInterval(10 * time.Millisecond)}
}

// TestHelperProcess is the child of TestCrash: it appends from several
// goroutines until killed, printing "seq id" for every Append that returned,
// while a forwarder reads and acks in order.
func TestHelperProcess(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("helper process for TestCrash")
	}
	round := os.Getenv(crashRoundEnv)
	opts := crashOptions()
	if os.Getenv(crashEarlyEnv) == "1" {
		opts = append(opts, WithEarlyNext())
	}
	o, err := Open(dir, opts...)
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		os.Exit(2)
	}
	var outMu sync.Mutex
	go func() {
		for {
			it, err := o.Next(context.Background())
			if err != nil {
				fmt.Fprintln(os.Stderr, "next:", err)
				os.Exit(3)
			}
			if it.Seq%3 != 0 { // leave a backlog: ack two of three, slowly
				time.Sleep(50 * time.Microsecond)
			}
			if err := o.Ack(it.Seq); err != nil {
				fmt.Fprintln(os.Stderr, "ack:", err)
				os.Exit(3)
			}
		}
	}()
	for g := range 8 {
		go func() {
			for i := 0; ; i++ {
				id := fmt.Sprintf("r%s-g%d-%d", round, g, i)
				seq, err := o.Append(context.Background(), Entry{Dataset: "job-ads", ID: id, Data: dataFor(id, 100+i%900)})
				if err != nil {
					fmt.Fprintln(os.Stderr, "append:", err)
					os.Exit(4)
				}
				outMu.Lock()
				fmt.Fprintf(os.Stdout, "%d %s\n", seq, id)
				outMu.Unlock()
			}
		}()
	}
	select {}
}

// TestCrash SIGKILLs a child process appending to an outbox and checks that
// every append it saw return survives, uncorrupted. It runs several rounds
// on one directory, so each child recovers what the previous one left.
func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns child processes")
	}
	crashRounds(t, false)
}

// TestCrashEarlyNext is TestCrash with a forwarder that reads and acks
// records before their fsync (WithEarlyNext): what Append returned still
// survives, and the floor on disk never passes the last record (Open would
// refuse the directory as corrupt).
func TestCrashEarlyNext(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns child processes")
	}
	crashRounds(t, true)
}

func crashRounds(t *testing.T, early bool) {
	dir := t.TempDir()
	for round := range 3 {
		printed := runCrashChild(t, dir, round, early)
		if len(printed) == 0 {
			t.Fatalf("round %d: child printed nothing", round)
		}

		o, err := Open(dir, crashOptions()...)
		if err != nil {
			t.Fatalf("round %d: Open after SIGKILL: %v", round, err)
		}
		st := o.Stats()
		items := drain(t, o)
		got := make(map[uint64]string, len(items))
		for i, it := range items {
			if want := st.AckedFloor + 1 + uint64(i); it.Seq != want {
				t.Fatalf("round %d: read seq %d, want %d", round, it.Seq, want)
			}
			if !bytes.Equal(it.Data, dataFor(it.ID, len(it.Data))) {
				t.Fatalf("round %d: seq %d: data does not match id %s", round, it.Seq, it.ID)
			}
			got[it.Seq] = it.ID
		}
		var missing int
		for seq, id := range printed {
			if seq <= st.AckedFloor {
				continue // forwarded and acked before the kill
			}
			if got[seq] != id {
				missing++
				if missing < 5 {
					t.Errorf("round %d: seq %d (%s) returned by Append but read back as %q", round, seq, id, got[seq])
				}
			}
		}
		t.Logf("round %d: child appended %d (seq up to %d), floor %d, %d pending after reopen, %d segments, torn tail %d bytes",
			round, len(printed), st.LastSeq, st.AckedFloor, len(items), st.Segments, st.TruncatedBytes)
		if missing > 0 {
			t.Fatalf("round %d: %d acknowledged appends lost", round, missing)
		}
		if err := o.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// runCrashChild starts the helper, kills it ~300 ms after its first append
// returned, and returns what it printed.
func runCrashChild(t *testing.T, dir string, round int, early bool) map[uint64]string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, crashRoundEnv+"="+strconv.Itoa(round))
	if early {
		cmd.Env = append(cmd.Env, crashEarlyEnv+"=1")
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	printed := make(map[uint64]string)
	first := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		br := bufio.NewReader(out)
		started := false
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				// A line cut by the kill has no newline and is ignored: the
				// child may not have finished printing it.
				if err == io.EOF {
					err = nil
				}
				done <- err
				return
			}
			seqStr, id, ok := strings.Cut(strings.TrimSuffix(line, "\n"), " ")
			seq, perr := strconv.ParseUint(seqStr, 10, 64)
			if !ok || perr != nil {
				done <- fmt.Errorf("bad line %q", line)
				return
			}
			printed[seq] = id
			if !started {
				started = true
				close(first)
			}
		}
	}()
	select {
	case <-first:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("child printed nothing; stderr: %s", stderr.String())
	}
	time.Sleep(300 * time.Millisecond)
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != -1 {
		t.Fatalf("child ended with %v before the kill; stderr: %s", err, stderr.String())
	}
	return printed
}
