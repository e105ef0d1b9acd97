// Package taxonomy keeps the shared taxonomy of the labour market in memory,
// so that a record can be checked against it value by value at ingest speed:
// the schema keyword x-taxonomy (connector-kit/schema) asks an [Index]
// whether a string is the id, or the legacy id, of a concept of a type, and
// whether that concept is deprecated.
//
// The hub fills its index from its own taxonomy-concepts dataset and keeps
// it current with a [Follower]: every record stored there (a concept
// published, changed or deprecated; a tombstone removing one) reaches the
// index as it is stored, so a concept published now is known to the next
// job ad. `hub validate --taxonomy FILE` and tests fill one from a file
// ([LoadFile]): JobTech's concept file as it is published (a map from
// concept id to concept), records, or envelopes read from a hub.
//
// It lives in the module's internal/ (not the hub's) because the fast
// validator's differential tests judge records against the real index too.
package taxonomy

// Dataset is the hub's taxonomy dataset, whose records the hub's index
// follows (schemas/taxonomy-concepts).
const Dataset = "taxonomy-concepts"
