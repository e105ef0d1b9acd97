// Package natsd runs the hub's embedded NATS server with JetStream.
//
// The server is the enforcement point of the platform: every connection must
// prove an nkey identity the hub knows (there is no anonymous access, ever),
// and what a connection may publish or subscribe to is decided by the
// permissions the hub registers for it. The hub itself talks to the server
// in-process, with an identity generated at start that never leaves memory.
package natsd
