package sidecar

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/jobtech-dev/datahub/connector-kit/plugin"
	"github.com/jobtech-dev/datahub/connector-kit/runner"
)

func (s *Sidecar) resources(name string) (plugin.Resources, error) {
	dir := filepath.Join(s.cfg.State, name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return plugin.Resources{}, fmt.Errorf("state folder for %s: %w", name, err)
	}
	return plugin.Resources{Logger: s.log.With("plugin", name), StateDir: dir}, nil
}

func pluginConf(p PluginConfig) ([]byte, error) {
	if len(p.Config) == 0 {
		return nil, nil
	}
	return yaml.Marshal(p.Config)
}

// inputConf is an input's plugin config with the input's dataset in it: the
// outer `dataset:` of an input is the one that counts, so a source whose
// config has a dataset field gets it from there (naming a different one
// inside config is an error).
func (s *Sidecar) inputConf(in PluginConfig) ([]byte, error) {
	hasField := false
	for _, p := range s.env.Plugins() {
		if p.Kind == "source" && p.Name == in.Type {
			for _, f := range p.Fields {
				hasField = hasField || f.Name == "dataset"
			}
		}
	}
	if hasField && in.Dataset != "" {
		found := false
		for _, it := range in.Config {
			if k, _ := it.Key.(string); k == "dataset" {
				found = true
				if v := fmt.Sprint(it.Value); v != in.Dataset {
					return nil, fmt.Errorf("dataset %q inside config differs from the input's dataset %q: set it once, on the input", v, in.Dataset)
				}
			}
		}
		if !found {
			in.Config = append(append(yaml.MapSlice{}, in.Config...), yaml.MapItem{Key: "dataset", Value: in.Dataset})
		}
	}
	return pluginConf(in)
}

// startInput runs a source through the kit's runner: each record is
// published with the source's id (so a re-read is stored once) and acked
// with its fate.
func (s *Sidecar) startInput(ctx context.Context, in PluginConfig) error {
	res, err := s.resources(in.Name)
	if err != nil {
		return err
	}
	conf, err := s.inputConf(in)
	if err != nil {
		return fmt.Errorf("input %s: %w", in.Name, err)
	}
	src, err := s.env.NewSource(in.Type, conf, res)
	if err != nil {
		return fmt.Errorf("input %s: %w", in.Name, err)
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		_ = runner.RunSource(ctx, s.c, src, runner.SourceConfig{Name: in.Name, Dataset: in.Dataset, Logger: s.log})
	}()
	return nil
}

// startOutput runs a durable subscription into a sink through the kit's
// runner: a record is acked only once the sink took it, so a restart
// resumes after the last one.
func (s *Sidecar) startOutput(ctx context.Context, out PluginConfig) error {
	res, err := s.resources(out.Name)
	if err != nil {
		return err
	}
	conf, err := pluginConf(out)
	if err != nil {
		return fmt.Errorf("output %s: %w", out.Name, err)
	}
	sink, err := s.env.NewSink(out.Type, conf, res)
	if err != nil {
		return fmt.Errorf("output %s: %w", out.Name, err)
	}
	cfg := runner.SinkConfig{Name: out.Name, Dataset: out.Dataset, Start: out.Start, Batch: out.Batch, Linger: out.Linger,
		Backoff: runner.Backoff{Min: time.Second, Max: time.Minute}, Logger: s.log,
		OnDelivered: func(n int) { s.m.delivered.WithLabelValues(out.Name).Add(float64(n)) }}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		_ = runner.RunSink(ctx, s.c, sink, cfg)
	}()
	return nil
}
