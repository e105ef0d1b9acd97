// Package redrive sends a dead letter through the ingest path again, after
// its dataset's schema was fixed: the record is checked against the schema
// in force now and, if it passes, stored as its original publisher's record
// under its original record id (or, when the publisher gave none, an id made
// from the dead letter's sequence), so a second re-drive is a duplicate, not a
// second copy. The dead letter itself stays where it is — the dead-letter
// stream is evidence, and the hub's integrity record would take a deletion
// for loss — and what became of it is kept in the KV bucket hub_redrives and
// in the audit log (deadletter.redrive), whoever asked and whatever the
// outcome.
package redrive
