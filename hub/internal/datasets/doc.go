// Package datasets keeps the dataset registry's state — every dataset's
// declaration and every version of its schema — in the hub's replicated
// JetStream key-value store, and changes it while the hub runs:
//
//   - a folder of declarations applied declaratively and all or nothing
//     ([Service.Apply]): new datasets get their streams, changed ones are
//     checked (key scope, schema compatibility, schema_version) and
//     applied, datasets left out are kept, or retired with prune;
//   - schema versions registered only when they pass the dataset's
//     compatibility mode ([Service.AddSchema]); versions are append-only;
//   - retired datasets deleted on an explicit confirmation
//     ([Service.Delete]), the only way stored records go.
//
// Every change is audited before it is answered, and ends with the
// [registry.Registry] swapped whole, so the validators, delivery, the API
// and the next connection's rights see the new datasets at once. A start
// with a schemas folder follows the rule the sharing policies follow
// (package applied): the folder is applied, and when it would replace a
// state applied another way the start says so in a WARN and the audit log.
//
// The state is two kinds of keys: one head holding every declaration and
// the number of each dataset's latest version (the commit point: written
// last, with its revision checked, so two changes can never interleave),
// and one immutable key per schema version, written before the head that
// names it.
package datasets
