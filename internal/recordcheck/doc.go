// Package recordcheck checks a record against one schema version the way
// the hub and the connector kit both must: with the one-pass validator
// (internal/fastschema) when the schema compiles to it, and with the
// reference (connector-kit/schema) otherwise, and always for the report a
// refused record gets, so that users see one error format whichever path
// judged the record.
//
// A [Checker] is compiled once per schema version and kept beside it (the
// hub's registry keeps one per dataset version; the kit one per cached
// schema). It also finds the record key and the tombstone flag, by the key
// rule of package wire, in the same pass.
//
// The reference decides: when the fast path refuses a record the reference
// judges it again, and should the two disagree the reference's verdict
// stands (and the result says so, so the caller can log it: a disagreement
// is a bug of the fast path, which its differential tests and fuzz targets
// exist to find).
package recordcheck
