// Package clustertest tests the hub as a cluster the way an operator runs
// one: real `hub serve` processes (and `connector run` sidecars) on
// loopback with free ports, joined by routes, killed with SIGKILL and
// started again on the same data dirs.
//
// It holds tests only. `make test` runs the short versions (three nodes
// form one hub; a record published on one node reaches a subscriber on
// another; an apply on one node cuts a connection on another; a revoke on
// one refuses the key on another; a node killed under a publishing load
// loses no acknowledged record and no order and catches up when it comes
// back; a single hub grows into a cluster without losing a record).
// `make cluster-soak` repeats the kills (CLUSTER_SOAK=N rounds), and `make
// bench` measures a cluster's ingest against one node and its failover
// time.
package clustertest
