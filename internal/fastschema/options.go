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
// the id of a concept of the shared taxonomy: {"x-taxonomy": {"type":
// "occupation-name"}}.
const TaxonomyKeyword = "x-taxonomy"

// Lookup tells whether value is a known concept of conceptType, and whether
// that concept is deprecated. value must not be kept after the call. It must
// be safe for concurrent use (the taxonomy index follows the taxonomy
// dataset live).
type Lookup func(conceptType, value string) (known, deprecated bool)

// Taxonomy returns the [TaxonomyKeyword] keyword backed by lookup: a string
// that is not a known concept of the keyword's type fails; a deprecated one
// gets onDeprecated (Pass, Warn or Fail, per dataset). The keyword's value
// must be an object with a non-empty string "type"; any other member makes
// the schema unsupported, so that a richer keyword (matching legacy ids,
// say) is left to the reference until the fast path learns it.
func Taxonomy(lookup Lookup, onDeprecated Outcome) Keyword {
	return Keyword{Name: TaxonomyKeyword, Compile: func(value any) (StringCheck, error) {
		obj, ok := value.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s must be an object, not %T", TaxonomyKeyword, value)
		}
		typ, _ := obj["type"].(string)
		if typ == "" {
			return nil, fmt.Errorf(`%s needs a non-empty string "type"`, TaxonomyKeyword)
		}
		for k := range obj {
			if k != "type" {
				return nil, &UnsupportedError{Keyword: TaxonomyKeyword + "/" + k, Detail: "only \"type\" is implemented"}
			}
		}
		return func(s string) Outcome {
			known, deprecated := lookup(typ, s)
			switch {
			case !known:
				return Fail
			case deprecated:
				return onDeprecated
			}
			return Pass
		}, nil
	}}
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
