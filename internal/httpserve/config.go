package httpserve

import (
	"net/http"
	"time"
)

// Config bounds what clients can hold of a server. The zero value works:
// each zero field takes the default named in its comment.
type Config struct {
	// ReadHeaderTimeout bounds the wait for a request's headers (10s).
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading a whole request, headers and body (60s);
	// a handler that works through a long body moves it with [ExtendRead].
	ReadTimeout time.Duration
	// WriteTimeout bounds delivering a response from its first byte (30s);
	// a streaming response gets it afresh for every write ([Streaming]).
	WriteTimeout time.Duration
	// IdleTimeout closes a kept-alive connection that sends no new request
	// (60s).
	IdleTimeout time.Duration
	// MaxHeaderBytes bounds a request's header block (64 KiB).
	MaxHeaderBytes int
	// MaxConnsPerIP caps the open connections of one client address (64);
	// negative means no cap.
	MaxConnsPerIP int
	// MaxConns caps all open connections (1024); negative means no cap.
	MaxConns int
	// RetryAfter is what a refused client is told to wait (1s).
	RetryAfter time.Duration
	// Refuse writes the answer to a request on a connection over a cap:
	// status is 429 (per-address cap) or 503 (total cap) and detail says
	// which. Retry-After and Connection: close are already set. Nil writes a
	// plain-text answer.
	Refuse func(w http.ResponseWriter, r *http.Request, status int, detail string)
}

// Defaults of the zero Config.
const (
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultReadTimeout       = 60 * time.Second
	DefaultWriteTimeout      = 30 * time.Second
	DefaultIdleTimeout       = 60 * time.Second
	DefaultMaxHeaderBytes    = 64 << 10
	DefaultMaxConnsPerIP     = 64
	DefaultMaxConns          = 1024
	DefaultRetryAfter        = time.Second
)

func (c Config) withDefaults() Config {
	def := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	def(&c.ReadTimeout, DefaultReadTimeout)
	def(&c.WriteTimeout, DefaultWriteTimeout)
	def(&c.IdleTimeout, DefaultIdleTimeout)
	def(&c.RetryAfter, DefaultRetryAfter)
	if c.MaxHeaderBytes <= 0 {
		c.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if c.MaxConnsPerIP == 0 {
		c.MaxConnsPerIP = DefaultMaxConnsPerIP
	}
	if c.MaxConns == 0 {
		c.MaxConns = DefaultMaxConns
	}
	return c
}
