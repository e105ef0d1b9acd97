package registry

import (
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/jobtech-dev/datahub/internal/strictyaml"

	"github.com/jobtech-dev/datahub/connector-kit/schema"
	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/hub/internal/compat"
)

// declaration is the dataset.yaml file format.
type declaration struct {
	Name          string `yaml:"name"`
	Title         string `yaml:"title"`
	Description   string `yaml:"description"`
	Owner         string `yaml:"owner"`
	Key           string `yaml:"key"`
	Tombstone     string `yaml:"tombstone"`
	KeyScope      string `yaml:"key_scope"`
	Retention     any    `yaml:"retention"`
	DedupeWindow  any    `yaml:"dedupe_window"`
	MaxPerKey     int64  `yaml:"max_per_key"`
	Replicas      int    `yaml:"replicas"`
	SchemaVersion *int   `yaml:"schema_version"`
	Schema        string `yaml:"schema"`
	// Compatibility is the mode a new schema version must pass
	// (compat.Mode; BACKWARD when absent), CompatibilityPolicy what the
	// check may assume about records (compat.Policy; STRICT when absent).
	Compatibility       string `yaml:"compatibility"`
	CompatibilityPolicy string `yaml:"compatibility_policy"`
	// TaxonomyDeprecated is what a record naming a deprecated taxonomy
	// concept (x-taxonomy) gets: reject, warn (the default) or accept.
	TaxonomyDeprecated string `yaml:"taxonomy_deprecated"`
	// Open makes the dataset open data: anyone may download it from the
	// public catalog, without credentials. A YAML boolean (true or false).
	Open bool `yaml:"open"`
}

// Limits and defaults of a declaration.
const (
	// DefaultKeyScope is publisher: a publisher can only ever replace or
	// remove its own records, nobody can claim a key before its rightful
	// publisher does, and it needs no shared state per key.
	DefaultKeyScope     = wire.KeyScopePublisher
	DefaultDedupeWindow = time.Hour
	MinDedupeWindow     = time.Second
	MaxDedupeWindow     = 7 * 24 * time.Hour
	// MaxReplicas is the most copies JetStream keeps of a stream.
	MaxReplicas = 5
)

// nameRE is the form of dataset and actor names.
var nameRE = regexp.MustCompile(`^[a-z][a-z0-9-]{0,62}$`)

// declError is one mistake in a declaration, at a position when known.
type declError struct {
	file      string
	line, col int
	field     string
	msg       string
}

func (e *declError) Error() string {
	var b strings.Builder
	b.WriteString(e.file)
	if e.line > 0 {
		fmt.Fprintf(&b, ":%d:%d", e.line, e.col)
	}
	b.WriteString(": ")
	if e.field != "" {
		b.WriteString(e.field + ": ")
	}
	b.WriteString(e.msg)
	return b.String()
}

func (e *declError) Unwrap() error { return ErrInvalidDeclaration }

// parseDeclaration parses a dataset.yaml strictly: unknown fields,
// duplicate keys and wrong types are errors with their line and column.
// It returns the parsed AST too, to place later errors.
func parseDeclaration(file string, data []byte) (*declaration, *ast.File, error) {
	var d declaration
	if err := strictyaml.Unmarshal(data, &d, yaml.DisallowUnknownField(), yaml.Strict()); err != nil {
		return nil, nil, yamlError(file, err)
	}
	f, err := parser.ParseBytes(data, 0)
	if err != nil {
		return nil, nil, yamlError(file, err)
	}
	return &d, f, nil
}

// yamlError turns a go-yaml error into a declError with its position.
func yamlError(file string, err error) error {
	var ye yaml.Error
	if errors.As(err, &ye) {
		e := &declError{file: file, msg: ye.GetMessage()}
		if tk := ye.GetToken(); tk != nil && tk.Position != nil {
			e.line, e.col = tk.Position.Line, tk.Position.Column
		}
		return e
	}
	return &declError{file: file, msg: err.Error()}
}

// at returns a declError for field, placed at the field's value (or at the
// start of the file when the field is absent).
func at(file string, f *ast.File, field, format string, args ...any) *declError {
	e := &declError{file: file, field: field, msg: fmt.Sprintf(format, args...)}
	if f == nil {
		return e
	}
	if p, err := yaml.PathString("$." + field); err == nil {
		if n, err := p.FilterFile(f); err == nil && n != nil {
			if tk := n.GetToken(); tk != nil && tk.Position != nil {
				e.line, e.col = tk.Position.Line, tk.Position.Column
			}
		}
	}
	return e
}

// parseDuration reads a retention or dedupe window: a Go duration ("8760h"),
// a number of days ("365d"), or 0.
func parseDuration(v any) (time.Duration, error) {
	switch x := v.(type) {
	case nil:
		return 0, nil
	case int, int64, uint64, uint, int32:
		n, _ := strconv.ParseInt(fmt.Sprint(x), 10, 64)
		if n != 0 {
			return 0, fmt.Errorf("%d has no unit: write a Go duration such as \"24h\" or days such as \"365d\"", n)
		}
		return 0, nil
	case string:
		s := strings.TrimSpace(x)
		if s == "" || s == "0" {
			return 0, nil
		}
		if days, ok := strings.CutSuffix(s, "d"); ok {
			n, err := strconv.ParseInt(days, 10, 64)
			if err != nil || n < 0 || n > 106751 {
				return 0, fmt.Errorf("%q is not a whole number of days", s)
			}
			return time.Duration(n) * 24 * time.Hour, nil
		}
		d, err := time.ParseDuration(s)
		if err != nil {
			return 0, fmt.Errorf("%q is not a Go duration (\"8760h\") or a number of days (\"365d\")", s)
		}
		if d < 0 {
			return 0, fmt.Errorf("%q is negative", s)
		}
		return d, nil
	default:
		return 0, fmt.Errorf("%v is not a duration", v)
	}
}

// check validates the declaration's fields and fills a Dataset with them
// (schema not loaded yet). It returns every mistake.
func (d *declaration) check(file string, f *ast.File) (*Dataset, []error) {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, at(file, f, field, format, args...))
	}
	if d.Name == "" {
		bad("name", "is required")
	} else if !nameRE.MatchString(d.Name) {
		bad("name", "%q must match %s", d.Name, nameRE)
	}
	if d.Owner == "" {
		bad("owner", "is required")
	} else if !nameRE.MatchString(d.Owner) {
		bad("owner", "%q must match %s (an actor name)", d.Owner, nameRE)
	}
	checkField := func(field, v string) {
		if strings.HasPrefix(v, "/") {
			if strings.Contains(strings.NewReplacer("~0", "", "~1", "").Replace(v), "~") {
				bad(field, "%q is not a valid JSON pointer: \"~\" must be escaped as \"~0\"", v)
			}
			if v == "/" || strings.Contains(v, "//") || strings.HasSuffix(v, "/") {
				bad(field, "%q has an empty segment", v)
			}
		}
	}
	if d.Key == "" {
		bad("key", "is required: a top-level field name or a JSON pointer such as /employer/id")
	} else {
		checkField("key", d.Key)
	}
	checkField("tombstone", d.Tombstone)
	scope := DefaultKeyScope
	switch d.KeyScope {
	case "":
	case wire.KeyScopePublisher, wire.KeyScopeDataset:
		scope = d.KeyScope
	default:
		bad("key_scope", "%q must be %q (each publisher's keys are its own; the default) or %q (one key space: a key belongs to its first publisher)",
			d.KeyScope, wire.KeyScopePublisher, wire.KeyScopeDataset)
	}
	ret, err := parseDuration(d.Retention)
	if err != nil {
		bad("retention", "%v", err)
	}
	dedupe := DefaultDedupeWindow
	if d.DedupeWindow != nil {
		dedupe, err = parseDuration(d.DedupeWindow)
		switch {
		case err != nil:
			bad("dedupe_window", "%v", err)
		case dedupe < MinDedupeWindow || dedupe > MaxDedupeWindow:
			bad("dedupe_window", "%v must be between %v and 7d", dedupe, MinDedupeWindow)
		}
	}
	if d.MaxPerKey < 0 {
		bad("max_per_key", "%d must be 0 (unlimited) or more", d.MaxPerKey)
	}
	if d.Replicas < 0 || d.Replicas > MaxReplicas {
		bad("replicas", "%d must be between 0 (the hub's default: 3 in a cluster, 1 alone) and %d", d.Replicas, MaxReplicas)
	}
	declared := 0
	if d.SchemaVersion != nil {
		if declared = *d.SchemaVersion; declared < 1 {
			bad("schema_version", "%d must be 1 or more (or leave it out: the registry numbers versions)", declared)
		}
	}
	mode, err := compat.ParseMode(d.Compatibility)
	if err != nil {
		bad("compatibility", "%v", strings.TrimPrefix(err.Error(), compat.ErrUnknownMode.Error()+" "))
	}
	pol, err := compat.ParsePolicy(d.CompatibilityPolicy)
	if err != nil {
		bad("compatibility_policy", "%q must be STRICT (the default: assume nothing about records) or LENIENT (records carry only the properties their schema names)", d.CompatibilityPolicy)
	}
	if d.Schema == "" {
		bad("schema", "is required: the schema file's path, relative to %s", file)
	} else if strings.HasPrefix(d.Schema, "/") || strings.Contains(d.Schema, "://") {
		bad("schema", "%q must be a path relative to the dataset.yaml", d.Schema)
	} else if c := filepath.Clean(d.Schema); c == ".." || strings.HasPrefix(c, ".."+string(filepath.Separator)) {
		bad("schema", "%q must be inside the dataset's folder (schemas are only read from under schemas/)", d.Schema)
	}
	deprecated, err := schema.ParseDeprecatedReaction(d.TaxonomyDeprecated)
	if err != nil {
		bad("taxonomy_deprecated", "%v: what a record naming a deprecated taxonomy concept gets (refused, stored with a warning, or stored)", err)
	}
	return &Dataset{
		TaxonomyDeprecated: deprecated,
		Name:               d.Name, Title: d.Title, Description: d.Description, Owner: d.Owner,
		Key: d.Key, Tombstone: d.Tombstone, KeyScope: scope,
		Retention: ret, DedupeWindow: dedupe, MaxPerKey: d.MaxPerKey, Replicas: d.Replicas,
		Compatibility: mode, CompatibilityPolicy: pol, DeclaredVersion: declared, SchemaName: d.Schema, Open: d.Open,
		File:   file,
		keyPtr: fieldPointer(d.Key), tombstonePtr: fieldPointer(d.Tombstone),
	}, errs
}
