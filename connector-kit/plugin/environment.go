package plugin

import (
	"bytes"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/goccy/go-yaml"

	"github.com/jobtech-dev/datahub/internal/strictyaml"
)

// SourceConstructor builds a source from its YAML config section.
type SourceConstructor func(conf []byte, res Resources) (Source, error)

// SinkConstructor builds a sink from its YAML config section.
type SinkConstructor func(conf []byte, res Resources) (Sink, error)

// Environment is a registry of plugins by name. It is a value, not a global:
// tests and programs build the one they need.
type Environment struct {
	mu      sync.RWMutex
	sources map[string]SourceConstructor
	sinks   map[string]SinkConstructor
	specs   map[string]Info // by kind + "/" + name
}

// NewEnvironment returns an empty environment.
func NewEnvironment() *Environment {
	return &Environment{sources: map[string]SourceConstructor{}, sinks: map[string]SinkConstructor{}, specs: map[string]Info{}}
}

// RegisterSource adds a source type described by spec; a name may be
// registered once, and a spec that does not match its config struct is
// refused (see Spec.Check).
func (e *Environment) RegisterSource(name string, spec Spec, c SourceConstructor) error {
	if err := spec.Check(); err != nil {
		return fmt.Errorf("source %q: spec: %w", name, err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.sources[name]; ok {
		return fmt.Errorf("source %q registered twice", name)
	}
	e.sources[name] = c
	e.specs["source/"+name] = Info{Kind: "source", Name: name, Spec: spec}
	return nil
}

// RegisterSink adds a sink type described by spec; a name may be
// registered once, and a spec that does not match its config struct is
// refused (see Spec.Check).
func (e *Environment) RegisterSink(name string, spec Spec, c SinkConstructor) error {
	if err := spec.Check(); err != nil {
		return fmt.Errorf("sink %q: spec: %w", name, err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.sinks[name]; ok {
		return fmt.Errorf("sink %q registered twice", name)
	}
	e.sinks[name] = c
	e.specs["sink/"+name] = Info{Kind: "sink", Name: name, Spec: spec}
	return nil
}

// Plugins lists every registered plugin with its spec: sources first, then
// sinks, each by name.
func (e *Environment) Plugins() []Info {
	e.mu.RLock()
	defer e.mu.RUnlock()
	var out []Info
	for _, k := range keys(e.specs) {
		out = append(out, e.specs[k])
	}
	slices.SortStableFunc(out, func(a, b Info) int {
		if a.Kind != b.Kind {
			return -strings.Compare(a.Kind, b.Kind) // "source" before "sink"
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out
}

// NewSource builds a source of type name.
func (e *Environment) NewSource(name string, conf []byte, res Resources) (Source, error) {
	e.mu.RLock()
	c, ok := e.sources[name]
	e.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("source type %q: %w (known: %v)", name, ErrUnknownPlugin, e.SourceTypes())
	}
	return c(conf, res.withDefaults())
}

// NewSink builds a sink of type name.
func (e *Environment) NewSink(name string, conf []byte, res Resources) (Sink, error) {
	e.mu.RLock()
	c, ok := e.sinks[name]
	e.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("sink type %q: %w (known: %v)", name, ErrUnknownPlugin, e.SinkTypes())
	}
	return c(conf, res.withDefaults())
}

// withDefaults is res with a nil Logger replaced by one that discards, so
// no plugin needs to check it.
func (r Resources) withDefaults() Resources {
	if r.Logger == nil {
		r.Logger = slog.New(slog.DiscardHandler)
	}
	return r
}

// SourceTypes lists the registered source names.
func (e *Environment) SourceTypes() []string {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return keys(e.sources)
}

// SinkTypes lists the registered sink names.
func (e *Environment) SinkTypes() []string {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return keys(e.sinks)
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// DecodeConfig decodes a plugin's YAML config section into v strictly: an
// unknown field is an error naming it and its line.
func DecodeConfig(conf []byte, v any) error {
	if len(bytes.TrimSpace(conf)) == 0 {
		conf = []byte("{}")
	}
	if err := strictyaml.Decode(conf, v, yaml.DisallowUnknownField()); err != nil {
		return fmt.Errorf("%w: %s", ErrInvalidConfig, yaml.FormatError(err, false, false))
	}
	return nil
}
