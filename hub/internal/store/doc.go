// Package store keeps datasets in JetStream: one stream per dataset with one
// subject per record key (key_scope: dataset) or per record key and
// publisher (key_scope: publisher), and a dead-letter stream for rejected
// records. It
// creates and updates the streams from the registry's declarations and reads
// records back as envelopes: a replay from a sequence or a time, and a
// snapshot of the latest record per key.
//
// Reading needs no hub state beyond JetStream, so a later cluster or
// federation peer can serve the same reads from its replicas.
package store
