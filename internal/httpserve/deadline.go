package httpserve

import (
	"io"
	"net/http"
	"time"
)

// deadlineWriter gives a response WriteTimeout from its first byte, or from
// every write once it is streaming.
type deadlineWriter struct {
	http.ResponseWriter
	rc        *http.ResponseController
	cfg       *Config
	started   bool
	streaming bool
	bodyDone  bool // the request body reached its end (or failed)
}

// watchedBody tells its deadlineWriter when the body has been read to its
// end: from then on net/http watches the connection itself.
type watchedBody struct {
	io.ReadCloser
	d *deadlineWriter
}

func (b *watchedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil {
		b.d.bodyDone = true
	}
	return n, err
}

func (d *deadlineWriter) armWrite() {
	_ = d.rc.SetWriteDeadline(time.Now().Add(d.cfg.WriteTimeout))
}

func (d *deadlineWriter) WriteHeader(code int) {
	if !d.started || d.streaming {
		d.started = true
		d.armWrite()
	}
	d.ResponseWriter.WriteHeader(code)
}

func (d *deadlineWriter) Write(b []byte) (int, error) {
	if !d.started || d.streaming {
		d.started = true
		d.armWrite()
	}
	return d.ResponseWriter.Write(b)
}

// Flush sends what is buffered, so a streaming client sees it now.
func (d *deadlineWriter) Flush() { _ = d.FlushError() }

// FlushError is Flush reporting a failed write.
func (d *deadlineWriter) FlushError() error {
	if d.streaming {
		d.armWrite()
	}
	return d.rc.Flush()
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (d *deadlineWriter) Unwrap() http.ResponseWriter { return d.ResponseWriter }

// find returns the deadlineWriter under w, if w was handed out by a Server.
func find(w http.ResponseWriter) *deadlineWriter {
	for {
		switch v := w.(type) {
		case *deadlineWriter:
			return v
		case interface{ Unwrap() http.ResponseWriter }:
			w = v.Unwrap()
		default:
			return nil
		}
	}
}

// Streaming marks the response written to w as a stream (NDJSON, SSE): from
// now on every write and flush has WriteTimeout to complete, instead of the
// whole response. A client that stops reading is still cut after
// WriteTimeout. It reports false when w is not served by a Server (nothing
// changes then).
func Streaming(w http.ResponseWriter) bool {
	d := find(w)
	if d == nil {
		return false
	}
	d.streaming = true
	d.started = true
	d.armWrite()
	return true
}

// ExtendRead gives the request's body ReadTimeout from now. A handler that
// works through a long body as it arrives (and so reads it more slowly than
// the network could deliver it) calls it as it makes progress. It reports
// false when w is not served by a Server, or the body is already read to its
// end (the connection then needs no read deadline: net/http only watches it
// for the client going away).
func ExtendRead(w http.ResponseWriter) bool {
	d := find(w)
	if d == nil || d.bodyDone {
		return false
	}
	return d.rc.SetReadDeadline(time.Now().Add(d.cfg.ReadTimeout)) == nil
}
