package api_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/hub/internal/hubtest"
	"github.com/jobtech-dev/datahub/hub/internal/store"
)

// Every name and number taken from a URL is checked before it reaches a
// lookup or a subject; every refusal is an immediate problem document.
func TestURLInputIsCheckedBeforeUse(t *testing.T) {
	t.Parallel()
	n := hubtest.StartNew(t)
	c := newClient(t, n)
	long := strings.Repeat("a", 5000)
	cases := []struct {
		method, path string
		status       int
		detail       string
	}{
		{"GET", "/api/v1/datasets/jobads/records?after=18446744073709551615", 400, "after="},
		{"GET", "/api/v1/datasets/jobads/deadletters?after=18446744073709551615", 400, "after="},
		{"GET", "/api/v1/datasets/jobads/records?after=-1", 400, "after="},
		{"GET", "/api/v1/datasets/job%00ads/records", 404, "not a dataset name"},
		{"GET", "/api/v1/datasets/job%00ads", 404, "not a dataset name"},
		{"POST", "/api/v1/datasets/job%00ads/records", 404, "not a dataset name"},
		{"GET", "/api/v1/datasets/job%00ads/deadletters", 404, "not a dataset name"},
		{"GET", "/api/v1/datasets/" + long + "/records", 404, "(5000 bytes)"},
		{"GET", "/api/v1/datasets/JobAds/schema", 404, "not a dataset name"},
		{"GET", "/api/v1/datasets/a%2Fb/records", 404, "not a dataset name"},
		{"GET", "/api/v1/datasets/../x", 400, "not canonical"},
		{"GET", "/api/v1/datasets/%2e%2e/x", 400, "not canonical"},
		{"GET", "/api/v1/datasets/jobads/./records", 400, "not canonical"},
		{"GET", "//api/v1/datasets", 400, "not canonical"},
		{"GET", "/api/v1/datasets/", 400, "not canonical"},
		{"DELETE", "/api/v1/actors/x%00y", 404, "not an actor name"},
		{"DELETE", "/api/v1/actors/" + long, 404, "(5000 bytes)"},
		{"DELETE", "/api/v1/actors/..", 400, "not canonical"},
		{"GET", "/api/v1/policies/check?actor=x%00&action=publish&dataset=jobads", 400, "actor="},
		{"GET", "/api/v1/policies/check?actor=jobbland&action=publish&dataset=" + long, 400, "dataset="},
		{"GET", "/api/v1/policies/check?actor=jobbland&action=steal&dataset=jobads", 400, "action="},
		{"GET", "/api/v1/policies/check?actor=jobbland&action=publish&dataset=jobads&ip=10.0.0.300", 400, "ip="},
		{"GET", "/api/v1/policies/explain?actor=%00", 400, "actor="},
	}
	for _, tc := range cases {
		start := time.Now()
		resp, body := rawRequest(t, n.HTTPURL(), tc.method, tc.path, n.Token())
		p := problemOf(t, resp, body, tc.status)
		if !strings.Contains(p.Detail, tc.detail) {
			t.Errorf("%s %s: detail %q, want mention of %q", tc.method, tc.path, p.Detail, tc.detail)
		}
		if len(p.Detail) > 400 {
			t.Errorf("%s %s: detail of %d bytes echoes the input", tc.method, tc.path[:40], len(p.Detail))
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("%s %s: answered after %s", tc.method, tc.path[:40], d)
		}
	}
	// The largest real sequence still reads (as nothing).
	resp, body := c.do("GET", "/api/v1/datasets/jobads/records?after=18446744073709551614", "", nil)
	if resp.StatusCode != 200 || len(body) != 0 {
		t.Fatalf("after=max-1: %d %s", resp.StatusCode, body)
	}
}

// rawRequest sends method and path exactly as written (no client-side
// cleaning) and reads the answer.
func rawRequest(t *testing.T, base, method, path, token string) (*http.Response, []byte) {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "%s %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nConnection: close\r\n\r\n", method, path, u.Host, token)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// A request without the token is answered 401 before its body is read:
// a huge body is not taken in, and a trickled one does not hold the
// connection open.
func TestUnauthenticatedBodiesAreNotRead(t *testing.T) {
	t.Parallel()
	n := hubtest.StartNew(t)
	host := strings.TrimPrefix(n.HTTPURL(), "http://")

	// 64 MiB announced: the client can only push what the socket buffers
	// hold before the hub answers and closes.
	conn, err := net.Dial("tcp", host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.(*net.TCPConn).SetWriteBuffer(64 << 10)
	fmt.Fprintf(conn, "POST /api/v1/datasets/jobads/records HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-ndjson\r\nContent-Length: %d\r\n\r\n", 64<<20)
	var sent atomic.Int64
	go func() {
		chunk := bytes.Repeat([]byte(`{"id":"1"}`+"\n"), 6<<10)
		for sent.Load() < 64<<20 {
			_ = conn.SetWriteDeadline(time.Now().Add(3 * time.Second))
			k, err := conn.Write(chunk)
			sent.Add(int64(k))
			if err != nil {
				return
			}
		}
	}()
	start := time.Now()
	_ = conn.SetReadDeadline(start.Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to an unauthenticated 64 MiB body: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	problemOf(t, resp, body, http.StatusUnauthorized)
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("401 after %s", d)
	}
	time.Sleep(500 * time.Millisecond)
	if s := sent.Load(); s > 8<<20 {
		t.Fatalf("the hub took in %d bytes of an unauthenticated body", s)
	}

	// A body trickled in chunks: 401, and the connection closes within a
	// couple of seconds, not after the read timeout.
	conn2, err := net.Dial("tcp", host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn2.Close()
	fmt.Fprintf(conn2, "POST /api/v1/datasets/jobads/records HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n{\r\n")
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
				if _, err := conn2.Write([]byte("1\r\na\r\n")); err != nil {
					return
				}
			}
		}
	}()
	start = time.Now()
	_ = conn2.SetReadDeadline(start.Add(10 * time.Second))
	br := bufio.NewReader(conn2)
	resp, err = http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	problemOf(t, resp, body, http.StatusUnauthorized)
	if _, err := io.Copy(io.Discard, br); err != nil && !isReset(err) {
		t.Fatalf("trickled body: %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("connection with a trickled unauthenticated body open for %s", d)
	}
	if st, _ := store.DatasetStats(t.Context(), n.JetStream(), "jobads"); st.Records != 0 {
		t.Fatalf("%d records stored", st.Records)
	}
}

func isReset(err error) bool {
	return strings.Contains(err.Error(), "reset by peer")
}

// Slow clients are cut after the configured timeouts and one address gets
// only its share of connections, on the hub's own HTTP server.
func TestSlowClientsAreCutAndCapped(t *testing.T) {
	t.Parallel()
	cfg := hubtest.Config(t.TempDir())
	cfg.HTTPReadHeaderTimeout = 300 * time.Millisecond
	cfg.HTTPReadTimeout = 600 * time.Millisecond
	cfg.HTTPMaxConnsPerIP = 4
	n := hubtest.Start(t, cfg)
	host := strings.TrimPrefix(n.HTTPURL(), "http://")
	dial := func() net.Conn {
		c, err := net.Dial("tcp", host)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	closedIn := func(c net.Conn, limit time.Duration) time.Duration {
		start := time.Now()
		_ = c.SetReadDeadline(start.Add(limit))
		_, err := io.Copy(io.Discard, c)
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatalf("connection still open after %s", limit)
		}
		return time.Since(start)
	}

	// Headers that never end, and an authenticated body that trickles.
	slowHead := dial()
	_, _ = slowHead.Write([]byte("GET /readyz HTTP/1.1\r\nHost: x\r\n"))
	slowBody := dial()
	fmt.Fprintf(slowBody, "POST /api/v1/datasets/jobads/records HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{", n.Token())
	go func() {
		for range 40 {
			time.Sleep(50 * time.Millisecond)
			if _, err := slowBody.Write([]byte(" ")); err != nil {
				return
			}
		}
	}()
	if d := closedIn(slowHead, 3*time.Second); d < 200*time.Millisecond {
		t.Fatalf("slow headers cut after %s, before the timeout", d)
	}
	closedIn(slowBody, 3*time.Second)

	// Four connections from one address; the fifth is refused 429.
	for range 4 {
		dial()
	}
	time.Sleep(50 * time.Millisecond) // the hub accepts them
	resp, body := rawRequest(t, n.HTTPURL(), "GET", "/readyz", "")
	p := problemOf(t, resp, body, http.StatusTooManyRequests)
	if resp.Header.Get("Retry-After") == "" || !strings.Contains(p.Detail, "per client address") {
		t.Fatalf("over the cap: %v %+v", resp.Header, p)
	}
}

// A follow stream lives for as long as records come, far past the write
// timeout, each write having the timeout to itself.
func TestFollowOutlivesTheWriteTimeout(t *testing.T) {
	t.Parallel()
	cfg := hubtest.Config(t.TempDir())
	cfg.HTTPWriteTimeout = 300 * time.Millisecond
	n := hubtest.Start(t, cfg)
	c := newClient(t, n)
	small := example(t, "jobads", "valid", "small-ad.json")
	publish := func(i int) {
		ad := bytes.Replace(small, []byte(`"id":"23187561"`), fmt.Appendf(nil, `"id":"follow-%d"`, i), 1)
		if r, b := c.do("POST", "/api/v1/datasets/jobads/records", "application/json", ad); r.StatusCode != 201 {
			t.Fatalf("publish %d: %d %s", i, r.StatusCode, b)
		}
	}
	publish(0) // the stream's headers come with its first record
	req, _ := http.NewRequest("GET", n.HTTPURL()+"/api/v1/datasets/jobads/records?follow=true", nil)
	req.Header.Set("Authorization", "Bearer "+n.Token())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got := make(chan wire.Envelope, 10)
	go func() {
		dec := json.NewDecoder(resp.Body)
		for {
			var e wire.Envelope
			if dec.Decode(&e) != nil {
				close(got)
				return
			}
			got <- e
		}
	}()
	for i := range 6 {
		if i > 0 {
			time.Sleep(200 * time.Millisecond)
			publish(i)
		}
		select {
		case e, ok := <-got:
			if !ok || e.Key != fmt.Sprintf("follow-%d", i) {
				t.Fatalf("record %d: %+v (stream open: %v)", i, e, ok)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("record %d not streamed", i)
		}
	}
}
