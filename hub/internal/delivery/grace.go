package delivery

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/hub/internal/registry"
)

// Metadata keys the hub keeps on an actor's consumer. The suspension keys
// live in the consumer's own (replicated, on-disk) configuration, so a
// suspension and its end survive hub restarts without another store.
const (
	MetaActor   = "hub.actor"
	MetaDataset = "hub.dataset"
	// MetaSuspendedAt is when the actor lost the right to the subscription
	// (RFC 3339); MetaSuspendedUntil is when its grace period ends.
	MetaSuspendedAt    = "hub.suspended_at"
	MetaSuspendedUntil = "hub.suspended_until"
)

// Subscription describes an actor's consumer in reports and audit entries.
type Subscription struct {
	Actor    string `json:"actor"`
	Dataset  string `json:"dataset"`
	Consumer string `json:"consumer"`
	// Durable is the name the actor gave; "" for an ephemeral subscription.
	Durable string `json:"durable,omitempty"`
	// AckFloor is the stream sequence up to which every record was
	// acknowledged: a resumed subscription goes on after it.
	AckFloor uint64 `json:"ack_floor"`
	// SuspendedAt and Until bound the grace period of a suspended
	// subscription (zero when it is not suspended).
	SuspendedAt time.Time `json:"suspended_at,omitzero"`
	Until       time.Time `json:"until,omitzero"`
}

// Changes is what [Reconcile] did.
type Changes struct {
	// Suspended lost the right: paused, position kept until Until.
	Suspended []Subscription
	// Resumed got the right back within the grace period.
	Resumed []Subscription
	// Expired reached the end of the grace period and were deleted.
	Expired []Subscription
	// Next is the earliest end of a grace period still running; zero if
	// no subscription is suspended.
	Next time.Time
}

// Reconcile keeps every actor consumer in line with the rights in force.
// allowed reports whether actor may still subscribe to dataset (from some
// network, now). For each consumer:
//
//   - not allowed and running: suspended. The end of its grace period,
//     now+grace, is written into its metadata and it is paused until then
//     (JetStream stops pushing and redelivering at once). Its position —
//     acked floor, records in flight, redelivery counts — stays as it was.
//     With grace 0 it is deleted at once instead (reported as expired).
//   - allowed and suspended: resumed. The pause is lifted and the
//     metadata removed; delivery goes on after the last acked record.
//   - not allowed and suspended until before now: deleted (expired).
//
// The server refuses an actor without the right its deliver subject anyway
// (access cuts its connections when rights change); the pause makes the
// consumer itself stop, and the grace keeps its place for a right that comes
// back. A failure on one consumer does not stop the others; the errors are
// returned joined, with what was done.
func Reconcile(ctx context.Context, js jetstream.JetStream, reg *registry.Registry, allowed func(actor, dataset string) bool, now time.Time, grace time.Duration) (Changes, error) {
	var ch Changes
	var errs []error
	for _, d := range reg.List() {
		st, err := js.Stream(ctx, wire.StreamName(d.Name))
		if err != nil {
			if !errors.Is(err, jetstream.ErrStreamNotFound) {
				errs = append(errs, fmt.Errorf("stream of %s: %w", d.Name, err))
			}
			continue
		}
		lister := st.ListConsumers(ctx)
		var infos []*jetstream.ConsumerInfo
		for info := range lister.Info() {
			if info.Config.Metadata[MetaActor] != "" {
				infos = append(infos, info)
			}
		}
		if err := lister.Err(); err != nil {
			errs = append(errs, fmt.Errorf("list subscriptions of %s: %w", d.Name, err))
		}
		for _, info := range infos {
			sub := describe(info)
			ok := allowed(sub.Actor, d.Name)
			suspended := !sub.Until.IsZero()
			switch {
			case ok && (suspended || info.Paused):
				if err := resume(ctx, st, info); err != nil {
					errs = append(errs, fmt.Errorf("resume subscription %s on %s: %w", info.Name, d.Name, err))
					continue
				}
				ch.Resumed = append(ch.Resumed, sub)
			case ok:
			case !suspended && grace <= 0:
				// No grace period: it ends now.
				sub.SuspendedAt, sub.Until = now.UTC(), now.UTC()
				fallthrough
			case suspended && !now.Before(sub.Until):
				if err := st.DeleteConsumer(ctx, info.Name); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
					errs = append(errs, fmt.Errorf("remove subscription %s on %s at the end of its grace period: %w", info.Name, d.Name, err))
					continue
				}
				ch.Expired = append(ch.Expired, sub)
			case suspended:
				if !info.Paused {
					// Suspended but running (its pause was lifted outside
					// the hub): pause it again until the same end.
					if err := suspend(ctx, st, info, sub.SuspendedAt, sub.Until); err != nil {
						errs = append(errs, fmt.Errorf("suspend subscription %s on %s: %w", info.Name, d.Name, err))
						continue
					}
				}
				ch.next(sub.Until)
			default:
				// Whole seconds, rounded up: the end reads well in `nats
				// consumer info` and is never before now+grace.
				sub.SuspendedAt, sub.Until = now.UTC().Truncate(time.Second), now.Add(grace+time.Second-1).UTC().Truncate(time.Second)
				if err := suspend(ctx, st, info, sub.SuspendedAt, sub.Until); err != nil {
					errs = append(errs, fmt.Errorf("suspend subscription %s on %s: %w", info.Name, d.Name, err))
					continue
				}
				ch.Suspended = append(ch.Suspended, sub)
				ch.next(sub.Until)
			}
		}
	}
	return ch, errors.Join(errs...)
}

func (ch *Changes) next(t time.Time) {
	if ch.Next.IsZero() || t.Before(ch.Next) {
		ch.Next = t
	}
}

// describe reads a consumer's actor, dataset, durable name and suspension.
func describe(info *jetstream.ConsumerInfo) Subscription {
	md := info.Config.Metadata
	sub := Subscription{Actor: md[MetaActor], Dataset: md[MetaDataset], Consumer: info.Name, AckFloor: info.AckFloor.Stream}
	if info.Config.Durable != "" {
		sub.Durable = strings.TrimPrefix(info.Config.Durable, sub.Actor+"_")
	}
	if t, err := time.Parse(time.RFC3339, md[MetaSuspendedUntil]); err == nil {
		sub.Until = t
		if at, err := time.Parse(time.RFC3339, md[MetaSuspendedAt]); err == nil {
			sub.SuspendedAt = at
		}
	}
	return sub
}

// suspend records the grace period in the consumer's metadata, then pauses
// it until the period ends (the server changes a pause only through its
// pause API, never through a configuration update). A crash between the
// two leaves a suspended consumer that is not paused, which Reconcile
// pauses again.
func suspend(ctx context.Context, st jetstream.Stream, info *jetstream.ConsumerInfo, at, until time.Time) error {
	cfg := info.Config
	cfg.Metadata = ownMetadata(cfg.Metadata)
	cfg.Metadata[MetaSuspendedAt] = at.Format(time.RFC3339)
	cfg.Metadata[MetaSuspendedUntil] = until.Format(time.RFC3339)
	if _, err := st.UpdatePushConsumer(ctx, cfg); err != nil {
		return err
	}
	_, err := st.PauseConsumer(ctx, info.Name, until)
	return err
}

// resume removes the suspension from the metadata, then lifts the pause. A
// crash between the two leaves a paused consumer without a suspension,
// which Reconcile resumes (or suspends anew if the right is gone again).
func resume(ctx context.Context, st jetstream.Stream, info *jetstream.ConsumerInfo) error {
	cfg := info.Config
	cfg.Metadata = ownMetadata(cfg.Metadata)
	delete(cfg.Metadata, MetaSuspendedAt)
	delete(cfg.Metadata, MetaSuspendedUntil)
	if _, err := st.UpdatePushConsumer(ctx, cfg); err != nil {
		return err
	}
	_, err := st.ResumeConsumer(ctx, info.Name)
	return err
}

// ownMetadata copies the hub's metadata keys, leaving out the server's own
// (_nats.*), which the server sets again on every update.
func ownMetadata(md map[string]string) map[string]string {
	out := maps.Clone(md)
	if out == nil {
		out = map[string]string{}
	}
	maps.DeleteFunc(out, func(k, _ string) bool { return strings.HasPrefix(k, "_nats.") })
	return out
}
