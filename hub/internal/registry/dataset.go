package registry

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jobtech-dev/datahub/connector-kit/schema"
	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/hub/internal/compat"
	"github.com/jobtech-dev/datahub/internal/recordcheck"
)

// Dataset is one declared dataset with its registered schema versions. It is
// immutable once loaded: a change makes a new Dataset, swapped into the
// [Registry] whole.
type Dataset struct {
	Name        string
	Title       string
	Description string
	// Owner is the actor that owns the dataset.
	Owner string
	// Key is the record key as declared: a top-level field name or a
	// JSON pointer starting with "/".
	Key string
	// Tombstone is the boolean field (name or pointer) that, when true,
	// makes a record a tombstone ending its key; "" means none.
	Tombstone string
	// KeyScope says whose a key is: wire.KeyScopePublisher (each
	// publisher's keys are its own) or wire.KeyScopeDataset (one key space;
	// a key belongs to its first publisher until transferred).
	KeyScope string
	// Retention is how long records are kept; 0 is forever.
	Retention time.Duration
	// DedupeWindow is how long a record id is remembered for dedupe.
	DedupeWindow time.Duration
	// MaxPerKey bounds the history kept per key; 0 is unlimited.
	MaxPerKey int64
	// Replicas is how many cluster nodes keep a copy of the dataset's
	// stream; 0 leaves it to the hub (3 in a cluster, 1 alone).
	Replicas int
	// Compatibility is the mode a new schema version must pass against the
	// registered ones (compat.Backward unless declared).
	Compatibility compat.Mode
	// CompatibilityPolicy is what that check may assume about records
	// (compat.Strict unless declared).
	CompatibilityPolicy compat.Policy
	// DeclaredVersion is schema_version as the declaration gave it; 0 when
	// it gave none (the registry numbers versions).
	DeclaredVersion int
	// SchemaName is the declaration's schema: field as written.
	SchemaName string

	// Versions are the registered schema versions, oldest first; the last
	// one is the latest, which SchemaVersion, SchemaDoc and Schema repeat.
	// A dataset loaded from a folder alone holds one: the folder's schema.
	Versions []*Version
	// SchemaVersion is the latest version's number.
	SchemaVersion int
	// SchemaFile is the schema's path as loaded (under the folder read, or
	// under the schemas folder for a version read back from the hub).
	SchemaFile string
	// SchemaDoc is the latest raw schema document, as served to the kit.
	SchemaDoc json.RawMessage
	// Schema is the latest compiled schema (the reference validator's).
	Schema *schema.Schema
	// File is the declaration's path as loaded ("" if built in code).
	File string
	// Retired is set once the dataset was taken out of the declarations
	// (an apply with --prune): its stream and records stay and can be
	// read, publishes are refused, until it is deleted.
	Retired *Retirement
	// TaxonomyDeprecated is what a record naming a deprecated taxonomy
	// concept gets (taxonomy_deprecated; schema.WarnDeprecated by default).
	TaxonomyDeprecated schema.DeprecatedReaction
	// Open is open data: the public catalog lets anyone download it.
	Open bool

	keyPtr, tombstonePtr  string
	nameLine, nameCol     int // where the name is declared, for duplicate errors
	scopeLine, scopeCol   int // where key_scope is declared (0 when defaulted)
	verLine, verCol       int // where schema_version is declared (0 when absent)
	schemaLine, schemaCol int // where schema is declared
}

// Retirement says when and by whom a dataset was retired.
type Retirement struct {
	At time.Time `json:"at"`
	By string    `json:"by"`
}

// Version returns the registered version numbered n.
func (d *Dataset) Version(n int) (*Version, bool) {
	for i := len(d.Versions) - 1; i >= 0; i-- {
		if v := d.Versions[i]; v.Number == n {
			return v, true
		} else if v.Number < n {
			break
		}
	}
	return nil, false
}

// Latest returns the latest registered version, nil when there is none.
func (d *Dataset) Latest() *Version {
	if len(d.Versions) == 0 {
		return nil
	}
	return d.Versions[len(d.Versions)-1]
}

// WithVersions returns a copy of d holding versions (oldest first), the
// latest one repeated in SchemaVersion, SchemaDoc and Schema.
func (d *Dataset) WithVersions(versions []*Version) *Dataset {
	c := *d
	c.Versions = slices.Clone(versions)
	if v := c.Latest(); v != nil {
		c.SchemaVersion, c.SchemaDoc, c.Schema = v.Number, json.RawMessage(v.Source.Doc), v.Schema
	}
	return &c
}

// VersionError is an error about the dataset's schema_version, placed at
// the field in its declaration (or at the file when it gave none); it wraps
// ErrInvalidDeclaration.
func (d *Dataset) VersionError(format string, args ...any) error {
	file := d.File
	if file == "" {
		file = "dataset " + d.Name
	}
	return &declError{file: file, line: d.verLine, col: d.verCol, field: "schema_version", msg: fmt.Sprintf(format, args...)}
}

// SchemaError is an error about the dataset's schema, placed at the
// declaration's schema field; it wraps ErrInvalidDeclaration.
func (d *Dataset) SchemaError(format string, args ...any) error {
	file := d.File
	if file == "" {
		file = "dataset " + d.Name
	}
	return &declError{file: file, line: d.schemaLine, col: d.schemaCol, field: "schema", msg: fmt.Sprintf(format, args...)}
}

// fieldPointer turns a declared field (a top-level name or a JSON pointer)
// into a JSON pointer.
func fieldPointer(f string) string {
	if f == "" || strings.HasPrefix(f, "/") {
		return f
	}
	return "/" + strings.ReplaceAll(strings.ReplaceAll(f, "~", "~0"), "/", "~1")
}

// KeyPointer returns the JSON pointer of the record key.
func (d *Dataset) KeyPointer() string {
	if d.keyPtr == "" {
		return fieldPointer(d.Key)
	}
	return d.keyPtr
}

// KeyOf returns the record key of a decoded record: the value at the key
// field, which must be a non-empty string or an integer (a json.Number
// without fraction or exponent; its digits are the key), as wire's key rule
// says. Otherwise it returns a violation with keyword "key" and the key's
// pointer.
func (d *Dataset) KeyOf(v any) (string, *schema.Violation) {
	key, problem := recordcheck.KeyOf(v, d.KeyPointer())
	if problem != "" {
		return "", d.KeyViolation(problem)
	}
	return key, nil
}

// KeyViolation is the violation of a record whose key field has problem
// (as recordcheck.Result.KeyProblem says it).
func (d *Dataset) KeyViolation(problem string) *schema.Violation {
	return &schema.Violation{Pointer: d.KeyPointer(), Keyword: "key", Message: fmt.Sprintf("key field %q %s", d.Key, problem)}
}

// TombstonePointer returns the JSON pointer of the tombstone flag, "" for
// none.
func (d *Dataset) TombstonePointer() string {
	if d.tombstonePtr == "" {
		return fieldPointer(d.Tombstone)
	}
	return d.tombstonePtr
}

// IsTombstone reports whether a decoded record is a tombstone: the dataset
// declares a tombstone field and the record has it set to true.
func (d *Dataset) IsTombstone(v any) bool {
	if d.Tombstone == "" {
		return false
	}
	return recordcheck.TombstoneOf(v, d.TombstonePointer())
}

// Checker returns what checks the dataset's records written against its
// latest schema version: see [Dataset.CheckerFor].
func (d *Dataset) Checker() *recordcheck.Checker { return d.CheckerFor(d.Latest()) }

// CheckerFor returns what checks the records of schema version v of d: the
// one-pass validator [Compile] put beside v's schema (falling back to the
// reference for a schema it does not implement), finding d's key and
// tombstone fields. A version compiled for other key or tombstone fields
// (the declaration changed them since), one put together in code, or a nil
// v (d's latest schema) is checked by the reference alone.
func (d *Dataset) CheckerFor(v *Version) *recordcheck.Checker {
	o := recordcheck.Options{Key: d.KeyPointer(), Tombstone: d.TombstonePointer()}
	if v == nil {
		return recordcheck.Reference(d.Schema, o)
	}
	if c := v.checker; c != nil {
		if key, tomb := c.Fields(); key == o.Key && tomb == o.Tombstone {
			return c
		}
	}
	return recordcheck.Reference(v.Schema, o)
}

// Validator says which validator checks the records of the dataset's
// latest schema version: "fast", or "reference (unsupported keyword X at
// /pointer)".
func (d *Dataset) Validator() string { return d.Checker().Validator() }

// ScopedByPublisher reports whether each publisher has its own key space.
func (d *Dataset) ScopedByPublisher() bool { return d.KeyScope != wire.KeyScopeDataset }

// Subject is the stream subject of a record with key from publisher of
// origin: per publisher or per key, by the dataset's key scope.
func (d *Dataset) Subject(key, origin, publisher string) string {
	if d.ScopedByPublisher() {
		return wire.ScopedDataSubject(d.Name, key, origin, publisher)
	}
	return wire.DataSubject(d.Name, key)
}

// KeyScopeError is an error about the dataset's key_scope, placed at the
// field in its dataset.yaml (or at the file when the scope was defaulted);
// it wraps ErrInvalidDeclaration.
func (d *Dataset) KeyScopeError(format string, args ...any) error {
	file := d.File
	if file == "" {
		file = "dataset " + d.Name
	}
	return &declError{file: file, line: d.scopeLine, col: d.scopeCol, field: "key_scope", msg: fmt.Sprintf(format, args...)}
}

// VersionFor returns the version a record is validated against: the one
// pinned by pin (the Hub-Schema-Version a publisher sent, digits), or the
// latest when pin is "". A pin that is not a version of d is a violation
// with keyword "schemaVersion" naming the versions d has.
func (d *Dataset) VersionFor(pin string) (*Version, *schema.Violation) {
	if pin == "" {
		if v := d.Latest(); v != nil {
			return v, nil
		}
		return &Version{Number: d.SchemaVersion, Schema: d.Schema}, nil
	}
	n, err := strconv.Atoi(pin)
	if err == nil {
		if v, ok := d.Version(n); ok {
			return v, nil
		}
	}
	have := "none"
	if len(d.Versions) > 0 {
		have = fmt.Sprintf("%d to %d", d.Versions[0].Number, d.Latest().Number)
	}
	shown := pin
	if len(shown) > 32 {
		shown = shown[:32] + "…"
	}
	return nil, &schema.Violation{Keyword: "schemaVersion",
		Message: fmt.Sprintf("schema version %q pinned by the publisher is not a version of dataset %s (its versions: %s)", shown, d.Name, have)}
}
