package readmetest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// envInNamespace marks the test binary re-run inside its own network
// namespace.
const envInNamespace = "READMETEST_IN_NETNS"

// notRun is how the README marks a block (in a quote just above it) or a
// line (in its comment) that this test cannot run, with the reason.
const notRun = "not run by the readme test"

// TestREADME runs every shell block of README.md, in order, as a reader
// would type it in a copy of the repository: a line whose comment says it
// keeps running starts in the background (a second terminal), every other
// line must end with exit status 0 or the "(exit status N)" its comment or
// the comment lines after it give.
func TestREADME(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the README walkthrough builds and runs the binaries")
	}
	if os.Getenv(envInNamespace) == "" {
		runInNamespace(t)
		return
	}
	if out, err := exec.Command("ip", "link", "set", "lo", "up").CombinedOutput(); err != nil {
		t.Fatalf("bring up loopback in the test's network namespace: %v: %s", err, out)
	}
	root := repoRoot(t)
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := parse(string(readme))
	if len(blocks) < 5 {
		t.Fatalf("README.md has %d shell blocks; the parser lost them", len(blocks))
	}
	w := newWalk(t, copyRepo(t, root))
	defer w.stopAll()
	ran := 0
	for _, b := range blocks {
		if b.skip != "" {
			t.Logf("README.md:%d: block not run: %s", b.line, b.skip)
			continue
		}
		w.run(b)
		ran++
	}
	if ran*2 < len(blocks) {
		t.Fatalf("only %d of %d README blocks run: mark fewer as not run", ran, len(blocks))
	}
}

// runInNamespace runs this test again inside a new network namespace (and
// user namespace, so no privilege is needed), where 127.0.0.1:4222, :8080
// and :8181 — the README's ports — are free whatever else runs here.
func runInNamespace(t *testing.T) {
	t.Helper()
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Fatalf("the README test runs in its own network namespace and needs unshare (util-linux) and ip (iproute2): %v", err)
	}
	deadline, ok := t.Deadline()
	timeout := 10 * time.Minute
	if ok {
		timeout = time.Until(deadline) - 10*time.Second
	}
	args := []string{"--net", "--map-root-user", "--fork", os.Args[0], "-test.run", "^TestREADME$", "-test.v", "-test.timeout", timeout.String()}
	cmd := exec.Command(unshare, args...)
	cmd.Env = append(os.Environ(), envInNamespace+"=1")
	var out lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	t.Log(out.String())
	if err != nil {
		if !strings.Contains(out.String(), "=== RUN") {
			t.Fatalf("create a network namespace with %s: %v (the README test needs user and network namespaces)", unshare, err)
		}
		t.Fatalf("the README walkthrough failed: %v (its log is above)", err)
	}
}

// block is one shell block of the README.
type block struct {
	line int    // of the opening fence
	skip string // why it is not run ("" when it is)
	cmds []command
}

// command is one command of a block, continuation lines joined.
type command struct {
	line       int
	text       string
	background bool
	want       int // exit status
	skip       string
}

var (
	exitRE   = regexp.MustCompile(`\(exit status (\d+)\)`)
	assignRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`)
)

// parse finds the README's sh and bash blocks and their commands.
func parse(readme string) []block {
	lines := strings.Split(readme, "\n")
	var blocks []block
	for i := 0; i < len(lines); i++ {
		fence := strings.TrimSpace(lines[i])
		if fence != "```sh" && fence != "```bash" {
			continue
		}
		b := block{line: i + 1}
		// A quote just above the block (blank lines between allowed) may
		// say it is not run.
		j := i - 1
		for j >= 0 && strings.TrimSpace(lines[j]) == "" {
			j--
		}
		for ; j >= 0 && strings.HasPrefix(strings.TrimSpace(lines[j]), ">"); j-- {
			if l := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(lines[j]), ">")); strings.Contains(strings.ToLower(l), notRun) {
				b.skip = l
			}
		}
		i++
		for ; i < len(lines) && strings.TrimSpace(lines[i]) != "```"; i++ {
			raw := lines[i]
			trimmed := strings.TrimSpace(raw)
			switch {
			case trimmed == "":
				continue
			case strings.HasPrefix(trimmed, "#"):
				// A comment line after a command may give its exit status.
				if m := exitRE.FindStringSubmatch(trimmed); m != nil && len(b.cmds) > 0 {
					b.cmds[len(b.cmds)-1].want, _ = strconv.Atoi(m[1])
				}
				continue
			}
			c := command{line: i + 1}
			text := raw
			for strings.HasSuffix(strings.TrimRight(text, " "), "\\") && i+1 < len(lines) {
				i++
				text = strings.TrimSuffix(strings.TrimRight(text, " "), "\\") + " " + strings.TrimSpace(lines[i])
			}
			code, comment := splitComment(text)
			c.text = strings.TrimSpace(code)
			lc := strings.ToLower(comment)
			c.background = strings.Contains(lc, "keeps running")
			if strings.Contains(lc, notRun) {
				c.skip = comment
			}
			if m := exitRE.FindStringSubmatch(comment); m != nil {
				c.want, _ = strconv.Atoi(m[1])
			}
			b.cmds = append(b.cmds, c)
		}
		blocks = append(blocks, b)
	}
	return blocks
}

// splitComment splits a shell line at its trailing comment: a # outside
// quotes that starts a word.
func splitComment(s string) (code, comment string) {
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			} else if c == '\\' && quote == '"' {
				i++
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '\\':
			i++
		case c == '#' && (i == 0 || s[i-1] == ' ' || s[i-1] == '\t'):
			return s[:i], strings.TrimSpace(s[i+1:])
		}
	}
	return s, ""
}

// walk runs a README's blocks in one working copy.
type walk struct {
	t   *testing.T
	dir string
	env []string
	bg  []*background
}

// background is a command left running.
type background struct {
	line int
	text string
	cmd  *exec.Cmd
	out  *lockedBuffer
	done chan struct{}
}

func newWalk(t *testing.T, dir string) *walk {
	home := filepath.Join(t.TempDir(), "home")
	if err := os.MkdirAll(home, 0o700); err != nil {
		t.Fatal(err)
	}
	env := []string{"HOME=" + home, "PATH=" + os.Getenv("PATH"), "TERM=dumb", "LANG=C.UTF-8"}
	// Go's caches stay the machine's, so `make run` builds like a reader's.
	for _, k := range []string{"GOCACHE", "GOMODCACHE", "GOPATH", "GOFLAGS", "GOTOOLCHAIN"} {
		if v := goEnv(t, k); v != "" {
			env = append(env, k+"="+v)
		}
	}
	return &walk{t: t, dir: dir, env: env}
}

// run runs one block: its commands in order; assignments (TOKEN=…) hold for
// the rest of the block.
func (w *walk) run(b block) {
	w.t.Helper()
	var setup []string
	for _, c := range b.cmds {
		if c.skip != "" {
			w.t.Logf("README.md:%d: not run: %s", c.line, c.skip)
			continue
		}
		if assignRE.MatchString(c.text) {
			setup = append(setup, c.text)
		}
		script := strings.Join(append(append([]string{}, setup...), c.text), "\n")
		if c.background {
			w.start(c, script)
			continue
		}
		w.foreground(c, script)
	}
}

// foreground runs a command to its end and checks its exit status.
func (w *walk) foreground(c command, script string) {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-o", "pipefail", "-c", script)
	cmd.Dir, cmd.Env = w.dir, w.env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	var out lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		w.t.Fatalf("README.md:%d: %s: %v", c.line, c.text, err)
	}
	if ctx.Err() != nil {
		w.t.Fatalf("README.md:%d: %s: still running after 3 minutes (mark it \"keeps running\" if it should)\n%s", c.line, c.text, tail(out.String()))
	}
	if code != c.want {
		w.t.Fatalf("README.md:%d: %s\nexit status %d, want %d; output:\n%s%s", c.line, c.text, code, c.want, tail(out.String()), w.backgroundLogs())
	}
	w.t.Logf("README.md:%d: ok (%s, exit %d): %s", c.line, time.Since(start).Round(time.Millisecond), code, c.text)
}

// start runs a command in the background, as in a second terminal. A
// server (a hub or a connector) must say it is ready; anything else must
// still be running a moment later.
func (w *walk) start(c command, script string) {
	w.t.Helper()
	cmd := exec.Command("bash", "-c", "exec "+script)
	cmd.Dir, cmd.Env = w.dir, w.env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	b := &background{line: c.line, text: c.text, cmd: cmd, out: &lockedBuffer{}, done: make(chan struct{})}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = io.MultiWriter(pw, b.out), b.out
	if err := cmd.Start(); err != nil {
		w.t.Fatalf("README.md:%d: %s: %v", c.line, c.text, err)
	}
	w.bg = append(w.bg, b)
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(pr)
		once := sync.Once{}
		for sc.Scan() {
			if strings.Contains(sc.Text(), "ready") {
				once.Do(func() { close(ready) })
			}
		}
	}()
	go func() { _ = cmd.Wait(); pw.Close(); close(b.done) }()
	server := strings.Contains(c.text, "make run") || strings.Contains(c.text, " serve") || strings.Contains(c.text, "connector run")
	wait := 2 * time.Second
	if server {
		wait = 4 * time.Minute
	}
	select {
	case <-ready:
		w.t.Logf("README.md:%d: running: %s", c.line, c.text)
	case <-b.done:
		w.t.Fatalf("README.md:%d: %s: ended at once (%v):\n%s", c.line, c.text, cmd.ProcessState, tail(b.out.String()))
	case <-time.After(wait):
		if server {
			w.t.Fatalf("README.md:%d: %s: not ready after %s:\n%s", c.line, c.text, wait, tail(b.out.String()))
		}
		w.t.Logf("README.md:%d: running: %s", c.line, c.text)
	}
}

// backgroundLogs is the end of every background command's output, for a
// failure message.
func (w *walk) backgroundLogs() string {
	var sb strings.Builder
	for _, b := range w.bg {
		fmt.Fprintf(&sb, "\n--- README.md:%d (background): %s\n%s", b.line, b.text, tail(b.out.String()))
	}
	return sb.String()
}

// stopAll stops the background commands, newest first, as a reader would
// press Ctrl-C in each terminal.
func (w *walk) stopAll() {
	for i := len(w.bg) - 1; i >= 0; i-- {
		b := w.bg[i]
		_ = syscall.Kill(-b.cmd.Process.Pid, syscall.SIGINT)
		select {
		case <-b.done:
		case <-time.After(15 * time.Second):
			_ = syscall.Kill(-b.cmd.Process.Pid, syscall.SIGKILL)
			<-b.done
		}
	}
}

// copyRepo copies the repository's files (tracked, and new ones not
// ignored) into a temporary folder: the walkthrough writes data, keys and
// outboxes where a reader's checkout would get them.
func copyRepo(t *testing.T, root string) string {
	t.Helper()
	out, err := exec.Command("git", "-C", root, "ls-files", "-z", "--cached", "--others", "--exclude-standard").Output()
	if err != nil {
		t.Fatalf("list the repository's files with git: %v", err)
	}
	dst := filepath.Join(t.TempDir(), "repo")
	for _, rel := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		src := filepath.Join(root, rel)
		st, err := os.Lstat(src)
		if err != nil || !st.Mode().IsRegular() {
			continue // deleted in the work tree, or not a file
		}
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		to := filepath.Join(dst, rel)
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(to, b, st.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

func repoRoot(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

func goEnv(t *testing.T, key string) string {
	t.Helper()
	out, err := exec.Command("go", "env", key).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// tail is the end of a long output.
func tail(s string) string {
	const max = 6000
	if len(s) > max {
		return "…" + s[len(s)-max:]
	}
	return s
}

// lockedBuffer is a buffer a process writes to while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
