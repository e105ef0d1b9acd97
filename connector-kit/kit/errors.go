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
	// ErrConflict: the record id was already used by this actor, within the
	// dataset's dedupe window, for a record with different content; this
	// one was not stored (the hub keeps it as a dead letter). A changed
	// record needs a new record id; retrying cannot succeed.
	ErrConflict = errors.New("record id already stored with different content")
	// ErrKeyOwned: the record's key belongs to another actor in a dataset
	// whose keys are owned (key_scope: dataset); the record was refused. It
	// comes as a *ValidationError whose violation (keyword "owner") names
	// the owner; errors.Is(err, ErrKeyOwned) finds it.
	ErrKeyOwned = errors.New("record key owned by another actor")
	// ErrInvalidRequest: the hub refused a request as malformed (a key
	// request naming no actor, say).
	ErrInvalidRequest = errors.New("invalid request")
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

// Is makes errors.Is(err, ErrKeyOwned) true for a record refused because
// another actor owns its key.
func (e *ValidationError) Is(target error) bool {
	if target != ErrKeyOwned {
		return false
	}
	for _, v := range e.Violations {
		if v.Keyword == "owner" {
			return true
		}
	}
	return false
}

// IsRetryable reports whether retrying err (with the same record id) may
// succeed.
func IsRetryable(err error) bool {
	return errors.Is(err, ErrHubUnreachable) || errors.Is(err, ErrUnavailable)
}
