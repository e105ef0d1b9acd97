// Package wire defines how actors and the hub talk over NATS: the subject
// names, the headers of a stored record, the record envelope returned by every
// API and the ingest reply.
//
// It is public because an actor may speak this protocol from any NATS client
// in any language; the connector kit and the hub both import it so the two
// sides cannot drift apart.
package wire
