// Package access turns the sharing policies into what the NATS server
// enforces. It is the hub's authorizer: when an actor connects it looks up
// the actor by its nkey, evaluates the policies for that actor, from that
// source address, at that moment, and hands the server the resulting subject
// permissions — so no policy is evaluated per record, and an actor using a
// plain NATS client gets exactly the same rights as one using the kit.
//
// It also owns the changes: applying a policy set (atomically, audited,
// re-judging live connections within a second (found in the embedded
// server's registry of live connections, natsd.Conns), recording how the set was
// applied so a start that would replace it says so), creating and revoking
// actors, and auditing every refusal and every grant expiry. A lost
// subscribe right suspends the actor's subscriptions for a grace period
// rather than deleting them, so a right restored in time resumes where the
// actor left off; a revoked actor loses them at once.
package access
