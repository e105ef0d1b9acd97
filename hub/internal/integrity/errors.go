package integrity

import (
	"errors"
	"strings"
)

// ErrDegraded is wrapped by [*DegradedError].
var ErrDegraded = errors.New("degraded: data lost")

// ErrNothingToAcknowledge is wrapped by [Tracker.Acknowledge] when no
// finding concerns the name given.
var ErrNothingToAcknowledge = errors.New("no data loss to acknowledge")

// DegradedError is the readiness answer while findings are not
// acknowledged.
type DegradedError struct {
	Findings []Finding
}

// Error lists the findings and says what to do.
func (e *DegradedError) Error() string {
	var b strings.Builder
	b.WriteString(ErrDegraded.Error())
	b.WriteString(": ")
	for i, f := range e.Findings {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(f.String())
	}
	b.WriteString(" (see 'hub damage list'; once dealt with, 'hub damage ack NAME')")
	return b.String()
}

// Unwrap makes errors.Is(err, ErrDegraded) hold.
func (e *DegradedError) Unwrap() error { return ErrDegraded }
