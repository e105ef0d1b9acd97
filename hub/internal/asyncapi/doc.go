// Package asyncapi describes the hub's datasets as an AsyncAPI 3.0.0
// document, generated from the registry in force and the policies: the
// contract an actor's developers read (and generate code from) to publish
// and receive records over NATS without reading the hub's source.
//
// Each dataset has two channels with the subjects the hub really uses:
// ingest.<dataset>.<actor>, where a publisher sends records, and
// deliver.<actor>.<dataset>.<consumer>, where a subscriber receives them.
// Both carry one message whose payload is the dataset's latest schema
// version, a JSON Schema given with its schemaFormat. The operations are what
// an actor may do: for one actor, only the ones its rights allow now.
package asyncapi
