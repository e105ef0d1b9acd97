// Package owners keeps who owns each record key of the datasets whose keys
// are shared by all publishers (key_scope: dataset). A key belongs to the
// publisher that first stored a record under it; a record or tombstone for
// it from anyone else is refused, until the dataset's owner or an admin
// transfers the key.
//
// Ownership lives in a replicated JetStream key-value bucket, so every node
// of a cluster agrees on it; a key is claimed with the bucket's Create,
// which succeeds for exactly one claimant. Each node reads an in-memory view
// fed by a watch of the bucket, so a record for a key already known costs a
// map lookup, not a round trip.
//
// An owner is a publisher of an origin hub, not just an actor name: a record
// a federation peer passes on carries its origin, and a peer's "jobbland" is
// never this hub's jobbland, so no peer can write a key owned here.
package owners
