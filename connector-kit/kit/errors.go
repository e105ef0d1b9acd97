package kit

import (
	"errors"
	"fmt"
	"strings"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
)

// Errors returned by the kit.
var (
	// ErrForbidden: the sharing policies do not allow this actor to do it.
	ErrForbidden = errors.New("forbidden by the hub's sharing policies")
	// ErrUnknownDataset: the hub declares no such dataset.
	ErrUnknownDataset = errors.New("unknown dataset")
	// ErrHubUnreachable: no answer from the hub; the record may or may not
	// be stored — retry with the same record id, and it is stored once.
	ErrHubUnreachable = errors.New("hub unreachable")
	// ErrUnavailable: the hub answered that it could not store the record
	// now; retry.
	ErrUnavailable = errors.New("hub could not store the record now")
	// ErrTLS: the TLS handshake with the hub failed — its certificate is
	// not trusted (wrong CA), expired, or for another host name; the hub
	// wants TLS and the client does not, or the reverse; or the hub requires
	// a client certificate. Retrying without a change cannot succeed.
	ErrTLS = errors.New("TLS with the hub failed")
	// ErrInvalidOption wraps every invalid option.
	ErrInvalidOption = errors.New("invalid option")
	// ErrClosed: the client is closed.
	ErrClosed = errors.New("client closed")
)

// ValidationError is a record refused because it does not match its
// dataset's schema (or the hub's limits). Retrying it cannot succeed.
type ValidationError struct {
	Dataset    string
	Violations []wire.Violation
	// Local is true when the kit refused it before sending.
	Local bool
}

func (e *ValidationError) Error() string {
	parts := make([]string, 0, len(e.Violations))
	for _, v := range e.Violations {
		parts = append(parts, v.String())
	}
	where := "hub"
	if e.Local {
		where = "schema check"
	}
	return fmt.Sprintf("record for %s rejected by %s: %s", e.Dataset, where, strings.Join(parts, "; "))
}

// IsRetryable reports whether retrying err (with the same record id) may
// succeed.
func IsRetryable(err error) bool {
	return errors.Is(err, ErrHubUnreachable) || errors.Is(err, ErrUnavailable)
}
