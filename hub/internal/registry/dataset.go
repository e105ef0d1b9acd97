package registry

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/jobtech-dev/datahub/connector-kit/schema"
	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/internal/recordcheck"
)

// Dataset is one declared dataset with its compiled schema. It is immutable
// once loaded.
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
	MaxPerKey     int64
	SchemaVersion int
	// SchemaFile is the schema's path as loaded.
	SchemaFile string
	// SchemaDoc is the raw schema document, as served to the kit.
	SchemaDoc json.RawMessage
	// Schema is the compiled schema (the reference validator's).
	Schema *schema.Schema
	// File is the declaration's path as loaded ("" if built in code).
	File string

	keyPtr, tombstonePtr string
	checker              *recordcheck.Checker // compiled beside Schema
	nameLine, nameCol    int                  // where the name is declared, for duplicate errors
	scopeLine, scopeCol  int                  // where key_scope is declared (0 when defaulted)
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

// Checker returns what checks the dataset's records: the one-pass
// validator compiled from its schema, falling back to the reference for a
// schema it does not implement, with the key and tombstone fields.
func (d *Dataset) Checker() *recordcheck.Checker {
	if d.checker == nil { // a dataset put together in code
		return recordcheck.Reference(d.Schema, recordcheck.Options{Key: d.KeyPointer(), Tombstone: d.TombstonePointer()})
	}
	return d.checker
}

// Validator says which validator checks the dataset's records: "fast", or
// "reference (unsupported keyword X at /pointer)".
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
