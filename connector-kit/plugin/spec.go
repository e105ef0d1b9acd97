package plugin

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
)

// Spec describes a plugin for the people who configure it: what it does
// and every field of its YAML config with its default. `connector plugins`
// prints the specs of an environment, and the README's table is checked
// against them, so the documentation cannot drift from the code.
type Spec struct {
	// Summary says in one line what the plugin does.
	Summary string
	// Config is the plugin's config struct (a zero value): every field with
	// a yaml tag must be described in Fields, and nothing else may be.
	Config any
	// Fields describe the config's fields, in the order to show them.
	Fields []Field
}

// Field is one setting of a plugin's YAML config.
type Field struct {
	Name        string `json:"name"`
	Type        string `json:"type"`
	Default     string `json:"default,omitempty"`
	Required    bool   `json:"required,omitempty"`
	Description string `json:"description"`
}

// Check reports a spec whose fields do not match its config struct's yaml
// tags, or that lacks a summary or descriptions.
func (s Spec) Check() error {
	var errs []error
	if strings.TrimSpace(s.Summary) == "" {
		errs = append(errs, errors.New("no summary"))
	}
	tags, err := yamlTags(s.Config)
	if err != nil {
		return err
	}
	var names []string
	for _, f := range s.Fields {
		names = append(names, f.Name)
		if !slices.Contains(tags, f.Name) {
			errs = append(errs, fmt.Errorf("field %q is not in the config struct", f.Name))
		}
		if f.Type == "" || strings.TrimSpace(f.Description) == "" {
			errs = append(errs, fmt.Errorf("field %q needs a type and a description", f.Name))
		}
	}
	for _, t := range tags {
		if !slices.Contains(names, t) {
			errs = append(errs, fmt.Errorf("config field %q is not described", t))
		}
	}
	return errors.Join(errs...)
}

// yamlTags lists the yaml names of a struct's fields.
func yamlTags(v any) ([]string, error) {
	t := reflect.TypeOf(v)
	if t == nil {
		return nil, errors.New("spec has no Config struct")
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil, fmt.Errorf("spec Config is a %s, not a struct", t.Kind())
	}
	var out []string
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if name != "" && name != "-" {
			out = append(out, name)
		}
	}
	return out, nil
}

// Info is a registered plugin as listed by Environment.Plugins.
type Info struct {
	Kind string `json:"kind"` // "source" or "sink"
	Name string `json:"name"`
	Spec
}
