package sidecar

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/jobtech-dev/datahub/connector-kit/kit"
	"github.com/jobtech-dev/datahub/connector-kit/plugin"
	"github.com/jobtech-dev/datahub/connector-kit/wire"
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

// startInput runs a source: each record is published with the source's id
// (so a re-read is stored once) and acked with its fate.
func (s *Sidecar) startInput(ctx context.Context, in PluginConfig) error {
	res, err := s.resources(in.Name)
	if err != nil {
		return err
	}
	conf, err := pluginConf(in)
	if err != nil {
		return fmt.Errorf("input %s: %w", in.Name, err)
	}
	src, err := s.env.NewSource(in.Type, conf, res)
	if err != nil {
		return fmt.Errorf("input %s: %w", in.Name, err)
	}
	log := res.Logger
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer src.Close(context.Background())
		backoff := 200 * time.Millisecond
		connected := false
		for ctx.Err() == nil {
			if !connected {
				if err := src.Connect(ctx); err != nil {
					log.Warn("input connect", "err", err)
					sleep(ctx, backoff)
					backoff = min(backoff*2, 30*time.Second)
					continue
				}
				connected, backoff = true, 200*time.Millisecond
			}
			rec, ack, err := src.Read(ctx)
			var be *plugin.BackoffError
			switch {
			case errors.Is(err, plugin.ErrEndOfInput):
				log.Info("input finished")
				return
			case errors.Is(err, plugin.ErrNotConnected):
				connected = false
				continue
			case errors.As(err, &be):
				sleep(ctx, be.Wait)
				continue
			case err != nil:
				if ctx.Err() == nil {
					log.Warn("input read", "err", err)
					sleep(ctx, time.Second)
				}
				continue
			}
			dataset := rec.Dataset
			if dataset == "" {
				dataset = in.Dataset
			}
			var opts []kit.PublishOption
			if rec.ID != "" {
				opts = append(opts, kit.WithRecordID(rec.ID))
			}
			_, perr := s.c.Publish(ctx, dataset, rec.Data, opts...)
			if perr != nil && !kit.IsRetryable(perr) {
				log.Error("record refused by the hub", "dataset", dataset, "id", rec.ID, "err", perr)
				perr = plugin.Permanent(perr)
			}
			_ = ack(ctx, perr)
			if perr != nil && kit.IsRetryable(perr) {
				sleep(ctx, backoff)
				backoff = min(backoff*2, 30*time.Second)
			} else {
				backoff = 200 * time.Millisecond
			}
		}
	}()
	return nil
}

// startOutput runs a durable subscription into a sink: a record is acked
// only once the sink took it, so a restart resumes after the last one.
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
	if err := sink.Connect(ctx); err != nil {
		return fmt.Errorf("output %s: connect: %w", out.Name, err)
	}
	opts := []kit.SubscribeOption{kit.Durable(out.Name), kit.Backoff(time.Second, time.Minute)}
	switch out.Start {
	case wire.StartNew:
		opts = append(opts, kit.OnlyNew())
	case wire.StartSnapshot:
		opts = append(opts, kit.FromSnapshot())
	}
	handler := func(hctx context.Context, d kit.Delivery) error {
		env := d.Envelope
		if err := sink.Write(hctx, plugin.Record{Dataset: env.Dataset, ID: env.ID, Data: env.Data, Envelope: &env}); err != nil {
			return err
		}
		s.m.delivered.WithLabelValues(out.Name).Inc()
		return nil
	}
	if bs, ok := sink.(plugin.BatchSink); ok && out.Batch > 1 {
		b := newBatcher(bs, out, s.m, res.Logger)
		handler = b.add
		opts = append(opts, kit.ManualAck(), kit.MaxAckPending(out.Batch*4))
		s.wg.Add(1)
		go func() { defer s.wg.Done(); b.run(ctx) }()
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer sink.Close(context.Background())
		var sub *kit.Subscription
		backoff := 200 * time.Millisecond
		for ctx.Err() == nil && sub == nil {
			sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			sub, err = s.c.Subscribe(sctx, out.Dataset, handler, opts...)
			cancel()
			if err != nil {
				res.Logger.Warn("output subscribe", "dataset", out.Dataset, "err", err)
				sleep(ctx, backoff)
				backoff = min(backoff*2, 30*time.Second)
			}
		}
		<-ctx.Done()
		if sub != nil {
			_ = sub.Stop()
		}
	}()
	return nil
}
