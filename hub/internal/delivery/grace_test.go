package delivery_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/hub/internal/delivery"
	"github.com/jobtech-dev/datahub/hub/internal/hubtest"
)

func TestReconcileSuspendsResumesAndExpires(t *testing.T) {
	t.Parallel()
	n := hubtest.StartNew(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	js, stream := n.JetStream(), wire.StreamName("jobads")
	create := func(name string, md map[string]string) {
		t.Helper()
		if _, err := js.CreatePushConsumer(ctx, stream, jetstream.ConsumerConfig{Durable: name, DeliverSubject: "deliver.x." + name,
			FilterSubject: wire.DataFilter("jobads"), AckPolicy: jetstream.AckExplicitPolicy, Metadata: md}); err != nil {
			t.Fatal(err)
		}
	}
	info := func(name string) *jetstream.ConsumerInfo {
		t.Helper()
		c, err := js.PushConsumer(ctx, stream, name)
		if errors.Is(err, jetstream.ErrConsumerNotFound) {
			return nil
		}
		if err != nil {
			t.Fatal(err)
		}
		return c.CachedInfo()
	}
	actor := func(a string) map[string]string {
		return map[string]string{delivery.MetaActor: a, delivery.MetaDataset: "jobads"}
	}
	create("kept_main", actor("kept"))
	create("lost_main", actor("lost"))
	create("operator-made", nil) // not an actor's: never touched
	allowed := map[string]bool{"kept": true}
	may := func(a, d string) bool { return allowed[a] && d == "jobads" }
	t0 := time.Now()

	ch, err := delivery.Reconcile(ctx, js, n.Registry(), may, t0, time.Hour)
	if err != nil || len(ch.Suspended) != 1 || len(ch.Resumed)+len(ch.Expired) != 0 {
		t.Fatalf("first pass: %+v %v", ch, err)
	}
	s := ch.Suspended[0]
	if s.Actor != "lost" || s.Dataset != "jobads" || s.Durable != "main" || s.Consumer != "lost_main" || s.Until.Before(t0.Add(time.Hour)) || s.Until.After(t0.Add(time.Hour+time.Second)) || !ch.Next.Equal(s.Until) {
		t.Fatalf("suspension %+v (next %v), want lost_main until an hour from now", s, ch.Next)
	}
	if i := info("lost_main"); !i.Paused || i.Config.Metadata[delivery.MetaSuspendedUntil] != s.Until.Format(time.RFC3339) {
		t.Fatalf("suspended consumer %+v", i)
	}
	if info("kept_main").Paused || info("operator-made").Paused {
		t.Fatal("a consumer with its right, or not an actor's, was paused")
	}

	// A pause lifted behind the hub's back is put back, with the same end;
	// nothing new is reported.
	if _, err := js.ResumeConsumer(ctx, stream, "lost_main"); err != nil {
		t.Fatal(err)
	}
	ch, err = delivery.Reconcile(ctx, js, n.Registry(), may, t0.Add(time.Minute), time.Hour)
	if err != nil || len(ch.Suspended)+len(ch.Resumed)+len(ch.Expired) != 0 || !ch.Next.Equal(s.Until) || !info("lost_main").Paused {
		t.Fatalf("second pass: %+v %v", ch, err)
	}

	// The right comes back: resumed, unmarked.
	allowed["lost"] = true
	ch, err = delivery.Reconcile(ctx, js, n.Registry(), may, t0.Add(2*time.Minute), time.Hour)
	if err != nil || len(ch.Resumed) != 1 || ch.Resumed[0].Consumer != "lost_main" || !ch.Next.IsZero() {
		t.Fatalf("resume: %+v %v", ch, err)
	}
	if i := info("lost_main"); i.Paused || i.Config.Metadata[delivery.MetaSuspendedUntil] != "" || i.Config.Metadata[delivery.MetaActor] != "lost" {
		t.Fatalf("resumed consumer %+v", i)
	}

	// Lost again; the grace period ends: removed.
	allowed["lost"] = false
	if ch, err = delivery.Reconcile(ctx, js, n.Registry(), may, t0.Add(3*time.Minute), time.Hour); err != nil || len(ch.Suspended) != 1 {
		t.Fatalf("suspend again: %+v %v", ch, err)
	}
	ch, err = delivery.Reconcile(ctx, js, n.Registry(), may, ch.Suspended[0].Until, time.Hour)
	if err != nil || len(ch.Expired) != 1 || ch.Expired[0].Consumer != "lost_main" || info("lost_main") != nil {
		t.Fatalf("expiry: %+v %v", ch, err)
	}

	// With no grace period a lost right removes the subscription at once.
	allowed["kept"] = false
	ch, err = delivery.Reconcile(ctx, js, n.Registry(), may, time.Now(), 0)
	if err != nil || len(ch.Expired) != 1 || ch.Expired[0].Consumer != "kept_main" || info("kept_main") != nil || info("operator-made") == nil {
		t.Fatalf("grace 0: %+v %v", ch, err)
	}
}
