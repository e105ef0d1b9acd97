package wire

// Violation is one reason a record was rejected.
type Violation struct {
	// Pointer is a JSON pointer (RFC 6901) into the record; "" is the whole
	// record. For a missing required property it names the missing
	// property itself (e.g. "/employer/name").
	Pointer string `json:"pointer"`
	// Keyword is the schema keyword that failed (type, required, pattern,
	// ...) or the pre-check that failed: "maxBytes", "utf8", "maxDepth",
	// "json", or "type" for a record that is not a JSON object. Packages
	// building on this one add their own, such as "key".
	Keyword string `json:"keyword"`
	// Message says what is wrong, in plain English.
	Message string `json:"message"`
}

// String returns the violation as `pointer: message (keyword)`, with "/" for
// the whole record.
func (v Violation) String() string {
	p := v.Pointer
	if p == "" {
		p = "/"
	}
	return p + ": " + v.Message + " (" + v.Keyword + ")"
}
