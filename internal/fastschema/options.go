package fastschema

import (
	"fmt"
	"strings"

	"github.com/jobtech-dev/datahub/connector-kit/schema"
)

// Options configures a [Validator]. The zero value checks the schema and the
// decode rules with the default limits, and extracts nothing.
type Options struct {
	// Limits bounds record size and nesting depth, as for the reference's
	// [schema.Decode]; zero fields mean the defaults.
	Limits schema.Limits
	// Key is the JSON pointer of the record key ("" for none), as the
	// registry's Dataset.KeyPointer returns it. A record whose key is
	// missing or not a non-empty string or an integer is reported with
	// [Result.KeyOK] false, not as invalid: the key is not the schema's
	// business.
	Key string
	// Tombstone is the JSON pointer of the boolean field that, when true,
	// makes the record a tombstone ("" for none).
	Tombstone string
	// Keywords are custom schema keywords checked on string values, such
	// as the registry's taxonomy keyword (see [Taxonomy]). A schema that
	// uses [TaxonomyKeyword] without a Keyword for it is unsupported: the
	// reference may implement it.
	Keywords []Keyword
}

// Outcome is what a custom keyword says about one value.
type Outcome uint8

const (
	// Pass accepts the value.
	Pass Outcome = iota
	// Warn accepts the value but asks for a warning (for example a
	// deprecated taxonomy concept); the Validator sets [Result.Warned].
	Warn
	// Fail rejects the value.
	Fail
)

// StringCheck judges one string value for a custom keyword. The string is
// only valid during the call (it may point into the record's bytes): a check
// must not keep it. It must be safe for concurrent use.
type StringCheck func(s string) Outcome

// Keyword is a custom schema keyword whose value, in each subschema that
// uses it, compiles to a check of that subschema's string values (other
// values pass, as JSON Schema's own string keywords do).
type Keyword struct {
	// Name is the keyword, e.g. "x-taxonomy".
	Name string
	// Compile turns the keyword's value (decoded JSON: map[string]any,
	// []any, string, json.Number, bool or nil) into a check. An error
	// wrapping [ErrUnsupported] makes the schema unsupported (the caller
	// falls back to the reference); any other error makes it invalid.
	Compile func(value any) (StringCheck, error)
}

// TaxonomyKeyword is the keyword the registry uses to say that a string is
// the id (or legacy id) of a concept of the shared taxonomy:
// {"x-taxonomy": {"type": "occupation-name"}}; see [schema.TaxonomyKeyword].
const TaxonomyKeyword = schema.TaxonomyKeyword

// Taxonomy returns the [TaxonomyKeyword] keyword backed by lookup. Its value
// is read and each string judged by the reference's own functions
// ([schema.ParseTaxonomyRef], [schema.TaxonomyRef.Judge]), so both
// validators accept the same schemas and agree on every value: a string
// that names no concept of the keyword's type (by id, or by legacy id) fails;
// a deprecated one gets onDeprecated (Pass, Warn or Fail, per dataset, see
// [DeprecatedOutcome]); with a lookup that holds no concepts every string
// passes, as in the reference.
func Taxonomy(lookup schema.TaxonomyLookup, onDeprecated Outcome) Keyword {
	return Keyword{Name: TaxonomyKeyword, Compile: func(value any) (StringCheck, error) {
		ref, err := schema.ParseTaxonomyRef(value)
		if err != nil {
			return nil, err
		}
		return func(s string) Outcome {
			switch v, _ := ref.Judge(lookup, s); v {
			case schema.TaxonomyUnknown:
				return Fail
			case schema.TaxonomyDeprecated:
				return onDeprecated
			}
			return Pass
		}, nil
	}}
}

// DeprecatedOutcome is the outcome of a deprecated concept under a
// dataset's reaction: reject fails, warn warns, accept passes.
func DeprecatedOutcome(r schema.DeprecatedReaction) Outcome {
	switch r {
	case schema.RejectDeprecated:
		return Fail
	case schema.AcceptDeprecated:
		return Pass
	}
	return Warn
}

// pointerTokens splits a JSON pointer into its unescaped reference tokens;
// "" (the whole record) has none.
func pointerTokens(field, ptr string) ([]string, error) {
	if ptr == "" {
		return nil, nil
	}
	if ptr[0] != '/' {
		return nil, fmt.Errorf("%w: %s %q is not a JSON pointer (it must start with \"/\")", ErrInvalidOption, field, ptr)
	}
	// Unescaped as schema.Lookup does ("~1" then "~0"; anything else as is).
	toks := strings.Split(ptr[1:], "/")
	for i, t := range toks {
		toks[i] = strings.ReplaceAll(strings.ReplaceAll(t, "~1", "/"), "~0", "~")
	}
	return toks, nil
}
