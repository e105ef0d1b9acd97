package kit

import (
	"errors"
	"fmt"
	"strings"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
)

// Errors returned by the kit. Each refusal from the hub arrives as a
// wire.Code and is mapped to one of these by code, never by message text;
// the returned error also wraps the *wire.Error, so errors.As gives the
// hub's own message and code.
var (
	// ErrForbidden: the sharing policies do not allow this actor to do it.
	ErrForbidden = errors.New("forbidden by the hub's sharing policies")
	// ErrUnknownDataset: the hub declares no such dataset.
	ErrUnknownDataset = errors.New("unknown dataset")
	// ErrUnauthorized: the hub refuses this actor's key: the actor was
	// revoked, or the credentials are not the hub's. Dial returns it;
	// ConnState.Unauthorized reports it on a live Client.
	ErrUnauthorized = errors.New("the hub refuses this actor's key (revoked or unknown)")
	// ErrHubUnreachable: no answer from the hub; the record may or may not
	// be stored — retry with the same record id, and it is stored once.
	ErrHubUnreachable = errors.New("hub unreachable")
	// ErrUnavailable: the hub answered that it could not do it now; retry.
	ErrUnavailable = errors.New("hub could not do it now")
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
	// ErrTooLarge: the record is over the hub's size limit. A
	// *ValidationError for such a record matches it with errors.Is.
	ErrTooLarge = errors.New("record too large")
	// ErrRateLimited: a limit on the actor was reached (for example its
	// number of subscriptions); retry later or free something.
	ErrRateLimited = errors.New("limit reached")
	// ErrBadRequest: the hub could not understand the request; a bug in
	// the caller or the kit, not in the record.
	ErrBadRequest = errors.New("bad request")
	// ErrNotFound: the named subscription does not exist.
	ErrNotFound = errors.New("not found")
	// ErrTLS: the TLS handshake with the hub failed — its certificate is
	// not trusted (wrong CA), expired, or for another host name; the hub
	// wants TLS and the client does not, or the reverse; or the hub requires
	// a client certificate. Retrying without a change cannot succeed.
	ErrTLS = errors.New("TLS with the hub failed")
	// ErrIncompatible: a schema version was refused because it breaks the
	// dataset's compatibility mode; it comes as an *IncompatibleError
	// listing every breaking change. Registering it again cannot succeed.
	ErrIncompatible = errors.New("schema version incompatible")
	// ErrInvalidSchema: a schema sent for registration is not a valid JSON
	// Schema (or reaches a $ref the hub does not hold).
	ErrInvalidSchema = errors.New("invalid schema")
	// ErrRetired: the dataset was retired; it is read, not written to.
	ErrRetired = errors.New("dataset retired")
	// ErrInvalidOption wraps every invalid option.
	ErrInvalidOption = errors.New("invalid option")
	// ErrClosed: the client is closed.
	ErrClosed = errors.New("client closed")
)

// sentinels maps each wire code to the kit's error for it.
var sentinels = map[wire.Code]error{
	wire.CodeUnknownDataset: ErrUnknownDataset,
	wire.CodeForbidden:      ErrForbidden,
	wire.CodeConflict:       ErrConflict,
	wire.CodeTooLarge:       ErrTooLarge,
	wire.CodeRateLimited:    ErrRateLimited,
	wire.CodeUnavailable:    ErrUnavailable,
	wire.CodeBadRequest:     ErrBadRequest,
	wire.CodeNotFound:       ErrNotFound,
	wire.CodeRetired:        ErrRetired,
	wire.CodeIncompatible:   ErrIncompatible,
}

// fromWire turns a hub refusal into the kit's error: the sentinel for its
// code wrapping the *wire.Error, or a *ValidationError for an invalid or
// oversized record (violations given).
func fromWire(dataset string, e *wire.Error, viol []wire.Violation) error {
	if e.Code == wire.CodeInvalid || (e.Code == wire.CodeTooLarge && len(viol) > 0) {
		return &ValidationError{Dataset: dataset, Code: e.Code, Violations: viol}
	}
	if s, ok := sentinels[e.Code]; ok {
		return fmt.Errorf("%s: %w: %w", dataset, s, e)
	}
	return fmt.Errorf("%s: %w", dataset, e)
}

// ValidationError is a record refused because it does not match its
// dataset's schema (or the hub's limits). Retrying it cannot succeed.
type ValidationError struct {
	Dataset string
	// Code is wire.CodeInvalid, or wire.CodeTooLarge for a record over the
	// size limit (then errors.Is(err, ErrTooLarge) holds).
	Code       wire.Code
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

// Is lets errors.Is(err, ErrTooLarge) match an oversized record, and
// errors.Is(err, ErrKeyOwned) a record refused because another actor owns
// its key.
func (e *ValidationError) Is(target error) bool {
	switch target {
	case ErrTooLarge:
		return e.Code == wire.CodeTooLarge
	case ErrKeyOwned:
		for _, v := range e.Violations {
			if v.Keyword == "owner" {
				return true
			}
		}
	}
	return false
}

// IncompatibleError is a schema version the hub refused under the
// dataset's compatibility mode. errors.Is(err, ErrIncompatible) holds.
type IncompatibleError struct {
	Dataset string
	// Report lists every breaking change, with the direction it breaks and
	// a JSON pointer into each schema.
	Report *wire.CompatibilityReport
	// Text is the report as `hub schema check` prints it.
	Text string
}

func (e *IncompatibleError) Error() string {
	if e.Text != "" {
		return fmt.Sprintf("schema for %s refused: %s", e.Dataset, strings.TrimSpace(e.Text))
	}
	n := 0
	if e.Report != nil {
		n = len(e.Report.Breaking)
	}
	return fmt.Sprintf("schema for %s refused: %d breaking change(s)", e.Dataset, n)
}

// Is lets errors.Is(err, ErrIncompatible) match.
func (e *IncompatibleError) Is(target error) bool { return target == ErrIncompatible }

// IsRetryable reports whether retrying err (with the same record id) may
// succeed.
func IsRetryable(err error) bool {
	return errors.Is(err, ErrHubUnreachable) || errors.Is(err, ErrUnavailable) || errors.Is(err, ErrRateLimited)
}

// forbiddenError is a refusal by the sharing policies in their own terms:
// which actor may not do what to which dataset. The NATS subject the
// server refused is the hub's business, not the actor's.
type forbiddenError struct {
	actor, action, dataset string
}

// Error says, for example, "jobbland may not publish to dataset
// taxonomy-concepts (no publish right in the sharing policies)".
func (e *forbiddenError) Error() string {
	what := e.action + " to dataset " + e.dataset
	if e.action == "read-schema" {
		what = "read the schema of dataset " + e.dataset
	}
	return fmt.Sprintf("%s may not %s (no %s right in the sharing policies)", e.actor, what, e.action)
}

// Unwrap makes errors.Is(err, ErrForbidden) hold.
func (e *forbiddenError) Unwrap() error { return ErrForbidden }

// forbiddenOn is the error for subject, which the server refused this
// client: in the policies' terms when the subject is one an actor's right
// opens (ingest, subscribe, schema, delivery), else naming the subject.
func forbiddenOn(subject string) error {
	if dataset, actor, err := wire.ParseIngestSubject(subject); err == nil {
		return &forbiddenError{actor: actor, action: "publish", dataset: dataset}
	}
	for _, s := range []struct{ prefix, action string }{
		{wire.SubscribePrefix, "subscribe"}, {wire.UnsubscribePrefix, "subscribe"}, {wire.SchemaPrefix, "read-schema"},
	} {
		if dataset, actor, err := wire.ParseServiceSubject(s.prefix, subject); err == nil {
			return &forbiddenError{actor: actor, action: s.action, dataset: dataset}
		}
	}
	// deliver.<actor>.<dataset>.<consumer>
	if rest, ok := strings.CutPrefix(subject, wire.DeliverPrefix+"."); ok {
		if parts := strings.Split(rest, "."); len(parts) == 3 {
			return &forbiddenError{actor: parts[0], action: "subscribe", dataset: parts[1]}
		}
	}
	return fmt.Errorf("%s: %w", subject, ErrForbidden)
}
