// Package httpserve runs an HTTP server that a stranger cannot wear down.
//
// Go's http.Server, left at its defaults, waits for ever: for a client to
// finish its headers, to send its body, to read its answer, and it accepts
// as many connections as the process has file descriptors. A few thousand
// connections trickling a byte at a time are then enough to exhaust the
// descriptors of the process and fail whatever else it does with files (the
// hub's JetStream storage). This package gives a server the limits it needs:
// timeouts on headers, bodies, idle connections and every response write,
// a header size limit, and caps on open connections per client address and
// in total, past which a connection is answered 429 (or 503) with
// Retry-After, or simply closed when even answering would cost too much.
//
// Streaming responses (an NDJSON follow) call [Streaming] so each write gets
// a fresh write timeout instead of one for the whole response; handlers that
// read a long body while working on it call [ExtendRead] as they make
// progress. Both the hub's admin API and the connector sidecar's local API
// are meant to be served through it.
package httpserve
