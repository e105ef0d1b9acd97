package registry

import (
	"fmt"

	"github.com/jobtech-dev/datahub/internal/fastschema"
)

// Option configures how [LoadDir] and [LoadFile] compile datasets' schemas.
type Option func(*options) error

type options struct {
	keywords []fastschema.Keyword
}

// WithKeywords gives the one-pass validator custom keywords, such as the
// taxonomy keyword backed by the taxonomy index's lookup
// (fastschema.Taxonomy). A schema using a custom keyword it is not given is
// checked by the reference validator (and says so: [Dataset.Validator]).
func WithKeywords(kw ...fastschema.Keyword) Option {
	return func(o *options) error {
		for i, k := range kw {
			if k.Name == "" || k.Compile == nil {
				return fmt.Errorf("registry: keyword %d needs a name and a Compile function", i)
			}
		}
		o.keywords = append(o.keywords, kw...)
		return nil
	}
}

func buildOptions(opts []Option) (options, error) {
	var o options
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return o, err
		}
	}
	return o, nil
}
