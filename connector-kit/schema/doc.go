// Package schema checks records against a dataset's JSON Schema exactly the
// same way on the hub and in the connector kit, so a record the kit accepts
// locally is not rejected by the hub for a different reason.
//
// A check has two stages. The pre-checks look at the raw bytes only: size,
// UTF-8, nesting depth and the I-JSON rules (RFC 7493: no member name twice
// in an object, numbers within float64's range and integer literals within
// ±(2^53−1), no lone surrogate escapes), all in one byte scan that stops at
// the depth limit, so a deeply nested document never reaches a recursive
// decoder; then well-formed JSON and a top-level object. A record that passes
// reads the same in every common JSON parser. The record is then decoded once, with numbers kept
// as [encoding/json.Number] so that integers of any size are validated
// exactly, and validated against the compiled schema.
//
// Every reason for a rejection is reported as a [Violation]: a JSON pointer
// into the record, the keyword that failed and a plain English message.
//
// Schemas never reach out: a $ref resolves only to documents handed to
// [Compile] as resources, never to the network or the file system.
package schema
