// Package policy decides what each actor may do with each dataset, from ladon
// policy documents kept as files.
//
// The hub is trusted by competing organisations only if every actor can write
// and read exactly what the admins' sharing policies allow. Those policies
// are github.com/ory/ladon documents kept in git under policies/: each *.json
// file holds one policy or an array of them, and groups.yaml names groups of
// actors. [LoadDir] reads them strictly and all-or-nothing — an unknown
// field, a bad pattern, an unknown action or condition is reported with its
// file and policy id, and no [Set] is returned — so a bad edit can never
// half-apply. [LoadFS] and [LoadFiles] do the same from an fs.FS or an
// in-memory set of files (as the admin API receives them), and
// [Set.Files] and [Set.Digest] give back exactly what was loaded.
//
// A [Set] is immutable and safe for concurrent use. [Set.Decide] answers one
// question (may actor A do action X on dataset D now, from this address?) and
// names the policy that decided; [Set.Rights] answers it for every dataset
// and action at once and says when the answer next changes, which the hub
// uses as the expiry of the actor's connection credentials so a time-boxed
// grant stops on its own. Decisions are made when an actor connects or the
// policies change, never per record: the hub compiles the result into the
// NATS server's permissions.
//
// Vocabulary: subjects are "actor:<name>", "group:<name>" or, for a peer hub
// that takes datasets from this one (federation), "hub:<name>"; resources are
// "dataset:<name>", and actions are the four in [Actions]; ladon's <regex>
// patterns are allowed in all three. Anything not allowed is denied, and an
// explicit deny wins over every allow. Two conditions exist: a time window
// ([TimeWindowCondition] under the context key "time") and a source network
// (ladon's CIDRCondition under "remote_ip").
package policy
