// Package natsd runs the hub's embedded NATS server with JetStream.
//
// The server is the enforcement point of the platform: every connection must
// prove an nkey identity the hub knows (there is no anonymous access, ever),
// and what a connection may publish or subscribe to is decided by the
// permissions the hub registers for it. The hub itself talks to the server
// in-process, with an identity generated at start that never leaves memory.
//
// It keeps the one registry of live actor connections ([Conns]): who each
// is, where it connected from and the grant it was let in with. The auth
// callout caps each actor's connections there and Kick cuts from it; the
// access service records its grants there and finds there the connections
// a policy change or a revocation cuts.
package natsd
