package plugin

import (
	"bytes"
	"fmt"
	"sort"
	"sync"

	"github.com/goccy/go-yaml"
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
}

// NewEnvironment returns an empty environment.
func NewEnvironment() *Environment {
	return &Environment{sources: map[string]SourceConstructor{}, sinks: map[string]SinkConstructor{}}
}

// RegisterSource adds a source type; a name may be registered once.
func (e *Environment) RegisterSource(name string, c SourceConstructor) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.sources[name]; ok {
		return fmt.Errorf("source %q registered twice", name)
	}
	e.sources[name] = c
	return nil
}

// RegisterSink adds a sink type; a name may be registered once.
func (e *Environment) RegisterSink(name string, c SinkConstructor) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.sinks[name]; ok {
		return fmt.Errorf("sink %q registered twice", name)
	}
	e.sinks[name] = c
	return nil
}

// NewSource builds a source of type name.
func (e *Environment) NewSource(name string, conf []byte, res Resources) (Source, error) {
	e.mu.RLock()
	c, ok := e.sources[name]
	e.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("source type %q: %w (known: %v)", name, ErrUnknownPlugin, e.SourceTypes())
	}
	return c(conf, res)
}

// NewSink builds a sink of type name.
func (e *Environment) NewSink(name string, conf []byte, res Resources) (Sink, error) {
	e.mu.RLock()
	c, ok := e.sinks[name]
	e.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("sink type %q: %w (known: %v)", name, ErrUnknownPlugin, e.SinkTypes())
	}
	return c(conf, res)
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
	dec := yaml.NewDecoder(bytes.NewReader(conf), yaml.DisallowUnknownField())
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %s", ErrInvalidConfig, yaml.FormatError(err, false, false))
	}
	return nil
}
