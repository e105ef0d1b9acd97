package schema

import "fmt"

// Option configures [Compile].
type Option func(*options) error

type options struct {
	taxonomy   TaxonomyLookup
	deprecated DeprecatedReaction
}

// WithTaxonomy checks the [TaxonomyKeyword] against l. Without it the
// keyword's value is still checked when the schema is compiled, but records
// are not: [Schema.UncheckedKeywords] says so.
func WithTaxonomy(l TaxonomyLookup) Option {
	return func(o *options) error {
		if l == nil {
			return fmt.Errorf("%w: WithTaxonomy needs a lookup", ErrInvalidOption)
		}
		o.taxonomy = l
		return nil
	}
}

// WithDeprecated sets what a value naming a deprecated taxonomy concept does
// to a record (default [WarnDeprecated]). It matters only with
// [WithTaxonomy].
func WithDeprecated(r DeprecatedReaction) Option {
	return func(o *options) error {
		if _, err := ParseDeprecatedReaction(string(r)); err != nil {
			return fmt.Errorf("%w: WithDeprecated: %w", ErrInvalidOption, err)
		}
		if r != "" {
			o.deprecated = r
		}
		return nil
	}
}
