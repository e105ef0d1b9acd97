package policy

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/ory/ladon"
)

// Context keys a request's ladon context carries, and the only keys a
// policy's conditions may be filed under.
const (
	// ContextKeyTime holds the request's time (a time.Time); a
	// [TimeWindowCondition] must be filed under it.
	ContextKeyTime = "time"
	// ContextKeyRemoteIP holds the connection's IP address as a string
	// (empty when unknown); a ladon CIDRCondition must be filed under it.
	ContextKeyRemoteIP = "remote_ip"
)

// Names of the two condition types a policy may use.
const (
	conditionTimeWindow = "TimeWindowCondition"
	conditionCIDR       = "CIDRCondition"
)

// TimeWindowCondition is a ladon condition fulfilled when the request's time
// lies in [From, Until). A zero bound is open. It is how a grant is
// time-boxed: outside the window the policy does not apply, whatever its
// effect.
type TimeWindowCondition struct {
	From  time.Time `json:"from,omitzero"`
	Until time.Time `json:"until,omitzero"`
}

var _ ladon.Condition = (*TimeWindowCondition)(nil)

// GetName returns "TimeWindowCondition", the condition's type in policy files.
func (c *TimeWindowCondition) GetName() string { return conditionTimeWindow }

// Fulfills reports whether value, the request's time (a time.Time, or an
// RFC 3339 string), lies within the window. A missing or zero time is not
// within any window: it cannot be proven.
func (c *TimeWindowCondition) Fulfills(_ context.Context, value any, _ *ladon.Request) bool {
	var t time.Time
	switch v := value.(type) {
	case time.Time:
		t = v
	case string:
		parsed, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return false
		}
		t = parsed
	default:
		return false
	}
	return c.contains(t)
}

func (c *TimeWindowCondition) contains(t time.Time) bool {
	if t.IsZero() {
		return false
	}
	if !c.From.IsZero() && t.Before(c.From) {
		return false
	}
	if !c.Until.IsZero() && !t.Before(c.Until) {
		return false
	}
	return true
}

// String describes the window in plain English.
func (c *TimeWindowCondition) String() string {
	switch {
	case c.From.IsZero():
		return "time window until " + c.Until.UTC().Format(time.RFC3339)
	case c.Until.IsZero():
		return "time window from " + c.From.UTC().Format(time.RFC3339)
	default:
		return fmt.Sprintf("time window from %s until %s",
			c.From.UTC().Format(time.RFC3339), c.Until.UTC().Format(time.RFC3339))
	}
}

// registerConditions adds TimeWindowCondition to ladon's condition factories
// so that ladon itself (DefaultPolicy.UnmarshalJSON, ladon managers) can read
// back the policies this package builds. ladon v1.3.0 offers only the
// package-global ladon.ConditionFactories map, so rather than an init()
// side effect of importing this package, the loader registers once, on first
// use, through registerOnce. This package's own parsing never reads that
// map: it knows its two condition types itself.
func registerConditions() {
	registerOnce.Do(func() {
		ladon.ConditionFactories[conditionTimeWindow] = func() ladon.Condition {
			return new(TimeWindowCondition)
		}
	})
}

var registerOnce sync.Once
