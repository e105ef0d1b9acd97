package datasets

import (
	"errors"
	"strings"

	"github.com/jobtech-dev/datahub/hub/internal/compat"
)

// ErrIncompatible is wrapped by the error of a schema version refused
// because it does not pass its dataset's compatibility mode; the error is
// an *[IncompatibleError] listing every breaking change.
var ErrIncompatible = errors.New("schema version not compatible")

// ErrNotRetired is returned by [Service.Delete] for a dataset still in
// force: a dataset is retired first (apply --prune), then deleted.
var ErrNotRetired = errors.New("dataset not retired")

// ErrUnknownVersion is returned for a schema version a dataset does not have.
var ErrUnknownVersion = errors.New("unknown schema version")

// ErrChangedMeanwhile is returned when the registry's state changed between
// reading and writing it (another node applied at the same moment); nothing
// changed, and the same request may be sent again.
var ErrChangedMeanwhile = errors.New("the dataset registry changed meanwhile; retry")

// IncompatibleError is a schema version its dataset's compatibility mode
// refuses: the checker's report, every breaking change with the direction
// it breaks and a pointer into each schema. Nothing was registered.
type IncompatibleError struct {
	Dataset string
	// File names the declaration whose schema was refused ("" when the
	// schema came on its own, through the API or an actor's kit).
	File   string
	Report compat.Report
}

func (e *IncompatibleError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File + ": schema: ")
	}
	b.WriteString("dataset " + e.Dataset + ": ")
	_ = e.Report.WriteText(&b)
	return strings.TrimRight(b.String(), "\n")
}

// Unwrap makes errors.Is(err, ErrIncompatible) hold.
func (e *IncompatibleError) Unwrap() error { return ErrIncompatible }
