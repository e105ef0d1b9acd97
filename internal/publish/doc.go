// Package publish sends records to a hub over NATS and waits for their
// durable outcome, keeping many requests in flight on one connection.
//
// A record is sent as a request on its dataset's ingest subject; the hub
// answers only after the record (or its dead letter) is stored. Pipelining
// those requests, instead of one round trip at a time, is what lets a single
// publisher reach the hub's full ingest rate.
package publish
