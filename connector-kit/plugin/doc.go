// Package plugin is the shape every connector takes: a Source that reads
// records from an actor's systems into the hub, or a Sink that writes the
// hub's records out. A new connector is one small type implementing one of
// the two narrow interfaces, registered by name in an Environment and
// configured from YAML.
//
// A source hands out each record with an AckFunc to call once the record's
// fate is known (stored by the hub, or refused); only then may the source
// forget it. That is what makes at-least-once delivery natural for every
// connector: a source that crashes before its ack reads the record again.
package plugin
