package access

import (
	"context"
	"time"

	"github.com/jobtech-dev/datahub/hub/internal/audit"
	"github.com/jobtech-dev/datahub/hub/internal/delivery"
	"github.com/jobtech-dev/datahub/hub/internal/policy"
)

// graceCheck is how often the subscriptions are checked against the rights
// even when nothing is due: a consumer created by a subscribe request that
// crossed an apply is suspended within this time.
const graceCheck = time.Hour

// leaderCheck is how often a cluster node that does not lead looks again
// whether it leads now.
const leaderCheck = 15 * time.Second

// reconcileSubscriptions keeps every actor consumer in line with the rules
// in force (see [delivery.Reconcile]): suspended when its actor lost the
// right, resumed when the right is back within the grace period, removed
// when the grace period ended. Calls are serialised, and each reads the set
// in force under the lock, so the last call always judges by the newest set.
func (s *Service) reconcileSubscriptions(ctx context.Context) delivery.Changes {
	s.graceMu.Lock()
	defer s.graceMu.Unlock()
	set, now := s.set.Load(), s.Now()
	ch, err := delivery.Reconcile(ctx, s.JS, s.Registry, func(actor, dataset string) bool {
		return set.Decide(policy.Request{Actor: actor, Action: policy.ActionSubscribe, Dataset: dataset, Time: now, AnyNetwork: true}).Allowed
	}, now, s.SubscriptionGrace)
	if err != nil {
		s.log.Warn("keep subscriptions in line with the policies", "err", err)
	}
	s.graceNext = ch.Next
	return ch
}

// auditSubscriptions audits and logs each change of ch, done on behalf of by.
func (s *Service) auditSubscriptions(ch delivery.Changes, by string) {
	for _, x := range []struct {
		kind, msg string
		subs      []delivery.Subscription
	}{
		{audit.KindSubscriptionSuspended, "subscription suspended: its actor lost the right; position kept until the grace period ends", ch.Suspended},
		{audit.KindSubscriptionResumed, "subscription resumed: the right is back; delivery goes on after the last acked record", ch.Resumed},
		{audit.KindSubscriptionExpired, "subscription removed: its actor lost the right and the grace period ended", ch.Expired},
	} {
		for _, sub := range x.subs {
			s.record(audit.Entry{Kind: x.kind, Actor: by, Subject: sub.Actor, Detail: mustJSON(sub)})
			s.log.Info(x.msg, "actor", sub.Actor, "dataset", sub.Dataset, "durable", sub.Durable, "consumer", sub.Consumer,
				"ack_floor", sub.AckFloor, "until", sub.Until)
		}
	}
}

// startGraceLoop starts keeping the subscriptions in line as time passes:
// at each end of a grace period and each time-window bound of the policies.
func (s *Service) startGraceLoop() {
	s.graceOnce.Do(func() {
		s.wg.Add(1)
		go func() { defer s.wg.Done(); s.graceLoop() }()
	})
}

func (s *Service) pokeGrace() {
	select {
	case s.graceWake <- struct{}{}:
	default:
	}
}

func (s *Service) graceLoop() {
	for {
		s.graceMu.Lock()
		next := s.graceNext
		s.graceMu.Unlock()
		now := s.Now()
		if c := s.set.Load().NextChange(now); !c.IsZero() && (next.IsZero() || c.Before(next)) {
			next = c
		}
		wait := graceCheck
		if !next.IsZero() {
			wait = min(wait, max(next.Sub(now), 0))
		}
		if s.Leader != nil {
			// In a cluster one node does this work; the others look again
			// soon, so one that becomes the leader takes over in time.
			wait = min(wait, leaderCheck)
		}
		t := time.NewTimer(wait)
		select {
		case <-s.done:
			t.Stop()
			return
		case <-s.graceWake:
			t.Stop()
			continue
		case <-t.C:
		}
		if !s.leader() {
			continue
		}
		ctx, cancel := context.WithTimeout(s.ctx, time.Minute)
		s.auditSubscriptions(s.reconcileSubscriptions(ctx), "hub")
		cancel()
	}
}
