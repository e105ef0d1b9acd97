// Package adopt moves the data of a hub that ran alone into the cluster it
// becomes the first node of, without losing a record.
//
// A JetStream server started as a cluster node keeps only the streams its
// cluster's metadata knows: streams it finds on disk from a time it ran
// alone are "orphans", and it deletes them soon after it joins. Nor can the
// cluster take them over in place — a replicated stream whose first copy
// already holds records has no log the others could catch up from. So the
// hub moves them the way JetStream itself backs streams up:
//
//  1. Export, still alone: a standalone server on the old files takes a
//     snapshot of every stream (records, sequences, times and the
//     subscriptions' consumers, each message's checksum checked) into files
//     beside the data, with a manifest written last. The old JetStream
//     folder is then kept aside, untouched, until the operator removes it.
//  2. Import, as a cluster node, once the cluster has a quorum: each stream
//     is restored from its snapshot through JetStream's restore API, with
//     the same sequences, times and consumers, and checked against the
//     manifest. The hub then raises every stream to its replica count as
//     nodes join (see package node).
//
// Each step can be interrupted and run again: an export without its
// manifest is redone, a stream already restored with the manifest's state
// is skipped, and one that exists with any other state is a conflict that
// stops the start with what to do, never a silent merge or deletion.
package adopt
