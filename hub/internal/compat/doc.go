// Package compat decides whether a new version of a dataset's JSON Schema
// is compatible with the versions registered before it, and says why not:
// every breaking change with the direction it breaks, a JSON pointer into
// each schema and a message in plain English. Publishers and subscribers in
// different organisations change their schemas independently; the registry
// uses this package to refuse a version that would break one of them.
//
// # Meaning
//
// A schema accepts a set of records. A new version is backward compatible
// when every record valid under the old version is valid under the new one
// (readers on the new schema can read old data), and forward compatible when
// every record valid under the new one is valid under the old (readers on the
// old schema can read new data). The modes ([Mode]) are Confluent Schema
// Registry's: NONE, BACKWARD, FORWARD, FULL (both), and their TRANSITIVE
// variants, which check against every earlier version instead of the latest.
//
// # How
//
// The checker works on the structure of JSON Schema 2020-12, never on sample
// data: both schemas are read into nodes ($ref targets and allOf branches
// are merged into the schema that uses them when that keeps their meaning),
// and compared keyword by keyword, recursively into properties, items and
// definitions. Each difference becomes a [Change] whose direction is worked
// out from both schemas: maxLength lowered breaks backward, unless every
// value the old schema allows (an enum) still fits; integer widened to
// number breaks forward; a property added to an open content model breaks
// backward, because an old record may carry that name with any value.
// anyOf and oneOf branches are matched by inclusion in each direction (a
// oneOf also needs its branches not to overlap); if/then/else, not and
// unevaluated* are handled conservatively. Recursive schemas are compared
// coinductively: a pair of schemas met again deeper in the record is
// assumed compatible, and the comparison is repeated until every such
// assumption is confirmed.
//
// The checker is sound, not complete: where it cannot prove a change
// harmless it reports it as breaking, with a message starting "cannot
// prove". It is built never to call a version compatible that some record
// proves otherwise, and the tests hold it to that against the reference
// validator (connector-kit/schema) with generated records and a fuzz target.
//
// # Policies
//
// [Strict], the default, assumes nothing about records. [Lenient] assumes
// records carry only the properties their schema names, as Confluent's
// lenient policy does; adding an optional property to an open content
// model then breaks nothing, at the price of that assumption.
//
// The package is pure: [Diff] and [Check] read only the documents they are
// given (resources are passed in, $refs never reach the network or the file
// system) and keep no state between calls.
package compat
