package webhook

import (
	"fmt"
	"net/http"
)

// Option changes how New builds a sink.
type Option func(*options) error

type options struct {
	client *http.Client
}

// WithHTTPClient sends the POSTs with c instead of a client of the sink's
// own; Config.Timeout still bounds each attempt.
func WithHTTPClient(c *http.Client) Option {
	return func(o *options) error {
		if c == nil {
			return fmt.Errorf("%w: nil HTTP client", ErrInvalidOption)
		}
		o.client = c
		return nil
	}
}
