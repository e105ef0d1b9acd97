// Package ingest is the hub's validator: it takes records that actors publish
// on their ingest subjects, checks each against its dataset's schema, stamps
// the envelope headers and stores it in the dataset's stream. The publisher is
// answered only once JetStream has stored the record (or, for a rejected
// record, once the dead-letter stream has stored it), so an answer is a
// promise that holds across a crash.
//
// Who may write a key is decided here too: a record of a dataset with owned
// keys (key_scope: dataset) must come from its key's owner (package owners);
// a publisher-scoped dataset stores each publisher's records under subjects
// of their own. Record ids are deduplicated per publisher (the stored
// Nats-Msg-Id is origin:publisher:record id), and a duplicate is answered as
// one only when its bytes are the stored record's; otherwise "conflict".
//
// The service is a queue group: with several hub nodes, each record is
// validated once, by whichever node is free. It decodes each record once,
// validates on as many workers as there are cores and keeps a window of
// asynchronous JetStream publishes in flight; policy is never evaluated here,
// because the NATS server already refused what the actor may not publish.
package ingest
