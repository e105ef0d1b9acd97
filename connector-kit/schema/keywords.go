package schema

// Keywords of the violations [Decode] reports before the schema is looked at
// (besides the I-JSON ones: [KeywordDuplicateKey], [KeywordNumber],
// [KeywordSurrogate]). The hub's one-pass validator reports the same
// keywords for the same records; these constants are its source.
const (
	// KeywordMaxBytes: the record is larger than Limits.MaxBytes.
	KeywordMaxBytes = "maxBytes"
	// KeywordUTF8: the record is not valid UTF-8.
	KeywordUTF8 = "utf8"
	// KeywordMaxDepth: objects and arrays nest deeper than Limits.MaxDepth.
	KeywordMaxDepth = "maxDepth"
	// KeywordJSON: the record is not well-formed JSON.
	KeywordJSON = "json"
	// KeywordType: the record is JSON but not an object.
	KeywordType = "type"
)
