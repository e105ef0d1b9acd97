// Package access turns the sharing policies into what the NATS server
// enforces. It is the hub's authorizer: when an actor connects it looks up
// the actor by its nkey, evaluates the policies for that actor, from that
// source address, at that moment, and hands the server the resulting subject
// permissions — so no policy is evaluated per record, and an actor using a
// plain NATS client gets exactly the same rights as one using the kit.
//
// It also owns the changes: applying a policy set (atomically, audited,
// re-judging live connections within a second), creating and revoking
// actors, and auditing every refusal and every grant expiry.
package access
