package delivery

import (
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
)

func TestConsumerConfig(t *testing.T) {
	since := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name   string
		req    wire.SubscribeRequest
		policy jetstream.DeliverPolicy
		err    string
	}{
		{"default all", wire.SubscribeRequest{}, jetstream.DeliverAllPolicy, ""},
		{"new", wire.SubscribeRequest{Start: wire.StartNew}, jetstream.DeliverNewPolicy, ""},
		{"snapshot", wire.SubscribeRequest{Start: wire.StartSnapshot}, jetstream.DeliverLastPerSubjectPolicy, ""},
		{"after", wire.SubscribeRequest{Start: wire.StartAfterSeq, AfterSeq: 7}, jetstream.DeliverByStartSequencePolicy, ""},
		{"since", wire.SubscribeRequest{Start: wire.StartSince, Since: since}, jetstream.DeliverByStartTimePolicy, ""},
		{"since without time", wire.SubscribeRequest{Start: wire.StartSince}, 0, "since"},
		{"bad start", wire.SubscribeRequest{Start: "yesterday"}, 0, "yesterday"},
		{"bad durable", wire.SubscribeRequest{Durable: "a.b"}, 0, "durable"},
		{"durable with wildcard", wire.SubscribeRequest{Durable: ">"}, 0, "durable"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := consumerConfig("matchwise", "jobads", tc.req)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one about %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.DeliverPolicy != tc.policy {
				t.Fatalf("policy %v, want %v", cfg.DeliverPolicy, tc.policy)
			}
			// Whatever is asked, records go only to this actor's subject,
			// filtered to this dataset, with explicit acks.
			if !strings.HasPrefix(cfg.DeliverSubject, "deliver.matchwise.jobads.") || cfg.FilterSubject != "data.jobads.>" || cfg.AckPolicy != jetstream.AckExplicitPolicy {
				t.Fatalf("config %+v", cfg)
			}
			if tc.req.Start == wire.StartAfterSeq && cfg.OptStartSeq != 8 {
				t.Fatalf("after 7 starts at %d", cfg.OptStartSeq)
			}
		})
	}
	a, _ := consumerConfig("matchwise", "jobads", wire.SubscribeRequest{Durable: "main"})
	if a.Durable != "matchwise_main" || a.Name != a.Durable || a.InactiveThreshold != 0 {
		t.Fatalf("durable %+v", a)
	}
	e, _ := consumerConfig("matchwise", "jobads", wire.SubscribeRequest{})
	if e.Durable != "" || e.InactiveThreshold == 0 || !strings.HasPrefix(e.Name, "matchwise_") {
		t.Fatalf("ephemeral %+v", e)
	}
}
