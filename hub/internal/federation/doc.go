// Package federation shares datasets between hubs. A hub takes a dataset
// from a peer hub over a link: a NATS connection to the peer as the
// identity the peer's admin created for it ("hub:<name>" in the peer's
// policies), under the peer's auth callout exactly as an actor connects,
// with one durable subscription per dataset the peer's policies grant and
// this hub chose to take. So the giving hub's policies decide what flows,
// enforced by its NATS server (revoked at once, time-boxed like any
// grant), and the giving hub keeps the link's place while it is away.
//
// What a link takes goes through this hub's own validated ingest (the
// federated entry of package ingest): checked against this hub's schema,
// stored with the record id, publisher and origin the giving hub stamped
// and this hub added to the record's path, refused with a dead letter
// when it does not fit, and acked to the peer only once that outcome is
// durable. A record whose path already names this hub is dropped, so
// records never loop; one this hub stored before (from another path, at
// any time it still keeps records) is a duplicate (package seen).
//
// Links are stored in the hub's replicated state (the hub_peers bucket)
// and survive restarts. On a hub of several nodes each link runs on one
// node, the holder of its lease in the bucket; another node takes it over
// when that one stops. Audit anchors travel over the links both ways, so
// each hub keeps its peers' last anchors (anchors.go).
package federation
