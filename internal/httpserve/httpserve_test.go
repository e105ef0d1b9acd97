package httpserve_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jobtech-dev/datahub/internal/httpserve"
)

// start serves h with cfg on a free loopback port and returns its address.
func start(t *testing.T, h http.Handler, cfg httpserve.Config) (*httpserve.Server, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := httpserve.New(h, cfg, nil)
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	t.Cleanup(func() {
		_ = s.Close()
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
	})
	return s, ln.Addr().String()
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// closedWithin reports how long the server took to close c (reads until
// EOF or a reset), failing the test if it is still open after limit.
func closedWithin(t *testing.T, c net.Conn, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	_ = c.SetReadDeadline(start.Add(limit))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("connection still open after %s", limit)
	}
	return time.Since(start)
}

var ok = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	_, _ = w.Write([]byte("ok\n"))
})

func TestSlowHeadersAreCutAfterReadHeaderTimeout(t *testing.T) {
	t.Parallel()
	_, addr := start(t, ok, httpserve.Config{ReadHeaderTimeout: 300 * time.Millisecond})
	c := dial(t, addr)
	stop := make(chan struct{})
	defer close(stop)
	go func() { // a byte of headers every 50ms, never the end
		_, _ = c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\nX-Slow: "))
		for {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
				if _, err := c.Write([]byte("a")); err != nil {
					return
				}
			}
		}
	}()
	if d := closedWithin(t, c, 3*time.Second); d < 200*time.Millisecond {
		t.Fatalf("closed after %s, before the header timeout", d)
	}
}

func TestSlowBodiesAreCutAfterReadTimeout(t *testing.T) {
	t.Parallel()
	readErr := make(chan error, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := io.Copy(io.Discard, r.Body)
		readErr <- err
	})
	_, addr := start(t, h, httpserve.Config{ReadTimeout: 400 * time.Millisecond})
	c := dial(t, addr)
	_, _ = c.Write([]byte("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n"))
	go func() {
		for range 100 {
			if _, err := c.Write([]byte("a")); err != nil {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	select {
	case err := <-readErr:
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("body read ended with %v, want a timeout", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("a trickling body was still being read after 3s")
	}
	closedWithin(t, c, 3*time.Second)
}

func TestExtendReadLetsAWorkingHandlerReadALongBody(t *testing.T) {
	t.Parallel()
	got := make(chan string, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sc := bufio.NewScanner(r.Body)
		n := 0
		for sc.Scan() {
			n++
			httpserve.ExtendRead(w)
		}
		got <- fmt.Sprintf("%d lines, %v", n, sc.Err())
	})
	_, addr := start(t, h, httpserve.Config{ReadTimeout: 300 * time.Millisecond})
	c := dial(t, addr)
	_, _ = c.Write([]byte("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 16\r\n\r\n"))
	for range 8 { // 8 × 100ms: longer than ReadTimeout, never idle as long
		time.Sleep(100 * time.Millisecond)
		_, _ = c.Write([]byte("a\n"))
	}
	select {
	case s := <-got:
		if s != "8 lines, <nil>" {
			t.Fatalf("handler read %s", s)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("handler did not finish")
	}
}

func TestConnectionsPerAddressAreCapped(t *testing.T) {
	t.Parallel()
	cfg := httpserve.Config{MaxConnsPerIP: 3, ReadHeaderTimeout: 5 * time.Second, RetryAfter: 2 * time.Second,
		Refuse: func(w http.ResponseWriter, r *http.Request, status int, detail string) {
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(status)
			fmt.Fprintf(w, `{"status":%d,"detail":%q}`, status, detail)
		}}
	s, addr := start(t, ok, cfg)
	held := []net.Conn{dial(t, addr), dial(t, addr), dial(t, addr)}
	waitFor(t, func() bool { return s.Stats().Open == 3 })

	// The next connection is answered 429 with Retry-After, its request
	// unread, and closed.
	c := dial(t, addr)
	_, _ = c.Write([]byte("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n"))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "2" || resp.Header.Get("Content-Type") != "application/problem+json" ||
		!strings.Contains(string(body), "limit per client address") {
		t.Fatalf("over the cap: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	closedWithin(t, c, 3*time.Second)

	// A flood past the few answered ones is closed without an answer, and
	// never takes a slot.
	var flood []net.Conn
	for range 40 {
		flood = append(flood, dial(t, addr))
	}
	for _, f := range flood[len(flood)-20:] {
		closedWithin(t, f, 3*time.Second)
	}
	if st := s.Stats(); st.Open != 3 || st.Dropped == 0 {
		t.Fatalf("stats after the flood: %+v", st)
	}

	// A slot given back serves the next connection.
	held[0].Close()
	waitFor(t, func() bool { return s.Stats().Open == 2 })
	resp2, err := http.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp2.Body.Close()
	if resp2.StatusCode != 200 {
		t.Fatalf("after a slot freed: %d", resp2.StatusCode)
	}
}

func TestTotalConnectionsAreCapped(t *testing.T) {
	t.Parallel()
	s, addr := start(t, ok, httpserve.Config{MaxConns: 2, MaxConnsPerIP: -1, ReadHeaderTimeout: 5 * time.Second})
	dial(t, addr)
	dial(t, addr)
	waitFor(t, func() bool { return s.Stats().Open == 2 })
	resp, err := http.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") != "1" {
		t.Fatalf("over the total cap: %d %v", resp.StatusCode, resp.Header)
	}
}

func TestHugeHeadersAreRefused(t *testing.T) {
	t.Parallel()
	_, addr := start(t, ok, httpserve.Config{MaxHeaderBytes: 4 << 10})
	req, _ := http.NewRequest("GET", "http://"+addr+"/", nil)
	req.Header.Set("X-Big", strings.Repeat("a", 64<<10))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("status %d, want 431", resp.StatusCode)
	}
}

func TestIdleConnectionsAreClosed(t *testing.T) {
	t.Parallel()
	_, addr := start(t, ok, httpserve.Config{IdleTimeout: 300 * time.Millisecond})
	c := dial(t, addr)
	_, _ = c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	start := time.Now()
	_ = c.SetReadDeadline(start.Add(3 * time.Second))
	if _, err := br.ReadByte(); !errors.Is(err, io.EOF) {
		t.Fatalf("idle connection: %v, want closed", err)
	}
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Fatalf("closed after %s, before the idle timeout", d)
	}
}

// A response whose client does not read it fails after WriteTimeout, and
// a stream lives on past it as long as each write completes in time.
func TestWriteTimeoutPerResponseAndPerStreamWrite(t *testing.T) {
	t.Parallel()
	bigErr := make(chan error, 1)
	h := http.NewServeMux()
	h.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		chunk := make([]byte, 1<<20)
		for range 256 {
			if _, err := w.Write(chunk); err != nil {
				bigErr <- err
				return
			}
		}
		bigErr <- nil
	})
	h.HandleFunc("/stream", func(w http.ResponseWriter, r *http.Request) {
		httpserve.Streaming(w)
		for i := range 8 {
			fmt.Fprintf(w, "line %d\n", i)
			w.(http.Flusher).Flush()
			time.Sleep(100 * time.Millisecond)
		}
	})
	_, addr := start(t, h, httpserve.Config{WriteTimeout: 300 * time.Millisecond})

	c := dial(t, addr)
	_, _ = c.Write([]byte("GET /big HTTP/1.1\r\nHost: x\r\n\r\n"))
	select {
	case err := <-bigErr:
		if err == nil {
			t.Fatal("256 MiB written to a client that reads nothing")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a write to a client that reads nothing still blocks after 5s")
	}

	start := time.Now()
	resp, err := http.Get("http://" + addr + "/stream")
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || strings.Count(string(b), "\n") != 8 {
		t.Fatalf("stream: %q %v", b, err)
	}
	if time.Since(start) < 700*time.Millisecond {
		t.Fatal("the stream did not outlast the write timeout")
	}
}

func TestStreamToAClientThatStopsReadingIsCut(t *testing.T) {
	t.Parallel()
	var written atomic.Int64
	done := make(chan error, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httpserve.Streaming(w)
		line := []byte(strings.Repeat("x", 1023) + "\n")
		for {
			if _, err := w.Write(line); err != nil {
				done <- err
				return
			}
			w.(http.Flusher).Flush()
			written.Add(1)
		}
	})
	_, addr := start(t, h, httpserve.Config{WriteTimeout: 300 * time.Millisecond})
	c := dial(t, addr)
	_, _ = c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatalf("stream to a reader that stopped still open after 5s (%d lines written)", written.Load())
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
