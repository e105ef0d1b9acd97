package fastschema

import "github.com/jobtech-dev/datahub/connector-kit/schema"

// Result is the fast path's verdict on one record.
type Result struct {
	// Valid reports whether the record passes every decode check and the
	// schema. When it is false the caller runs the reference validator to
	// produce the report users see.
	Valid bool
	// Failure says why a record is invalid. Its Stage is exact (a decode
	// check the reference also fails, or the schema); for the decode stage
	// Keyword and Pointer are the reference's own.
	Failure Failure
	// Key is the record key (see Options.Key) when KeyOK.
	Key string
	// KeyOK reports whether the key was found and usable: a non-empty
	// string (not too long for a subject token) or an integer written
	// without fraction or exponent, as wire.StringKeyProblem and wire.NumberKeyProblem require.
	// Only meaningful for a valid record with a key pointer.
	KeyOK bool
	// Tombstone reports whether the tombstone field is true.
	Tombstone bool
	// Warned reports that a custom keyword answered Warn for some value
	// it was asked about (possibly in a branch that did not decide the
	// outcome); a caller that reports warnings asks the reference.
	Warned bool
}

// Stage is where a record failed.
type Stage uint8

const (
	// StageNone: the record is valid.
	StageNone Stage = iota
	// StageDecode: a decode check failed (size, UTF-8, depth, syntax, not
	// an object, duplicate member name, number, surrogate).
	StageDecode
	// StageSchema: the record decodes but fails the schema.
	StageSchema
)

// Failure locates a rejection.
type Failure struct {
	Stage Stage
	// Keyword is, for the decode stage, the reference's violation keyword:
	// maxBytes, utf8, maxDepth, json, type (not an object), duplicateKey,
	// number or surrogate. Empty for the schema stage.
	Keyword string
	// Pointer is, for the decode stage, the JSON pointer the reference
	// reports (empty for whole-record checks).
	Pointer string
}

// Decode-stage keywords: connector-kit/schema's own, so the two cannot drift.
const (
	KeywordMaxBytes     = schema.KeywordMaxBytes
	KeywordUTF8         = schema.KeywordUTF8
	KeywordMaxDepth     = schema.KeywordMaxDepth
	KeywordJSON         = schema.KeywordJSON
	KeywordType         = schema.KeywordType
	KeywordDuplicateKey = schema.KeywordDuplicateKey
	KeywordNumber       = schema.KeywordNumber
	KeywordSurrogate    = schema.KeywordSurrogate
)
