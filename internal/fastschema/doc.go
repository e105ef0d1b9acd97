// Package fastschema checks records against a dataset's JSON Schema in one
// pass over the raw bytes, so that validating a record costs less than
// storing it.
//
// The reference validator (connector-kit/schema: sonic decodes the record
// into a generic tree, jsonschema/v6 walks it) allocates for every value and
// costs several times a JetStream publish. A [Validator] is compiled once per
// schema version: the schema is compiled by jsonschema/v6 exactly as the
// reference compiles it, and that compiled graph is turned into a validator
// that reads the record's bytes once, checking at the same time everything
// the reference's decode checks (size, UTF-8, nesting depth, JSON syntax, a
// top-level object, duplicate member names, numbers outside float64, integers
// beyond ±(2^53−1), lone surrogates), evaluating every subschema that applies
// to each value, and extracting the record key and the tombstone flag. It
// builds no tree and allocates nothing per value in the common case.
//
// The reference stays the reference. The fast path answers yes or no (with
// the key): a record it finds invalid is checked again by the reference,
// whose report is what users see, so there is one error format. Its yes/no
// must therefore agree with the reference on every input; differential tests
// and fuzz targets in this package hold it to that. A schema that uses a
// keyword the fast path does not implement makes [Compile] fail with an
// error wrapping [ErrUnsupported] that names the keyword and where it is;
// the caller then keeps the reference for that dataset.
//
// Custom keywords (the taxonomy keyword of the registry) plug in through
// [Options.Keywords]; see [Taxonomy].
package fastschema
