package accessreq

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/hub/internal/access"
	"github.com/jobtech-dev/datahub/hub/internal/audit"
	"github.com/jobtech-dev/datahub/hub/internal/policy"
	"github.com/jobtech-dev/datahub/hub/internal/registry"
)

// Bucket holds the requests, one key per request id.
const Bucket = "hub_access_requests"

// Layer is the policy layer approved requests are put in force in.
const Layer = "access-requests"

// Audit entry kinds.
const (
	KindRequested = "access.request"
	KindApproved  = "access.approve"
	KindDeclined  = "access.decline"
)

// States of a request.
const (
	StatePending  = "pending"
	StateApproved = "approved"
	StateDeclined = "declined"
	// StateExpired is an approved request whose end date has passed (a
	// state shown, never stored).
	StateExpired = "expired"
)

// Limits on what an actor may write into a request.
const (
	MaxPurpose = 2000
	MaxReason  = 2000
	// MaxDuration bounds how far ahead an end date may be.
	MaxDuration = 3 * 366 * 24 * time.Hour
)

// Request is one actor's request for a right on a dataset.
type Request struct {
	ID      string `json:"id"`
	Actor   string `json:"actor"`
	Dataset string `json:"dataset"`
	// Action is subscribe, publish or read-schema.
	Action  string `json:"action"`
	Purpose string `json:"purpose"`
	// Until is when the grant ends: the end of the end date asked for (UTC).
	Until     time.Time  `json:"until"`
	State     string     `json:"state"`
	CreatedAt time.Time  `json:"created_at"`
	DecidedAt *time.Time `json:"decided_at,omitempty"`
	DecidedBy string     `json:"decided_by,omitempty"`
	// Reason is the admin's reason for a decline, or note on an approval.
	Reason string `json:"reason,omitempty"`
	// PolicyID is the policy an approval put in force.
	PolicyID string `json:"policy_id,omitempty"`
}

// Shown returns the request as it is now: an approved request whose end
// date has passed is expired.
func (r Request) Shown(now time.Time) Request {
	if r.State == StateApproved && !now.Before(r.Until) {
		r.State = StateExpired
	}
	return r
}

// LayerApplier puts a policy layer in force (*access.Service is one).
type LayerApplier interface {
	ApplyLayer(ctx context.Context, name string, files map[string][]byte, by string) (access.ApplyResult, error)
}

// Recorder stores an audit entry before the change it records is answered.
type Recorder interface {
	Record(ctx context.Context, e audit.Entry) (audit.Entry, error)
}

// Service keeps the requests.
type Service struct {
	kv    jetstream.KeyValue
	layer LayerApplier
	reg   *registry.Registry
	audit Recorder
	log   *slog.Logger
	now   func() time.Time
	mu    sync.Mutex // one decision at a time: the layer is rebuilt from every approval
}

// Open opens the requests bucket.
func Open(ctx context.Context, js jetstream.JetStream, layer LayerApplier, reg *registry.Registry, rec Recorder, log *slog.Logger) (*Service, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: Bucket, Description: "actors' requests for access to datasets", Storage: jetstream.FileStorage})
	if err != nil {
		return nil, fmt.Errorf("open bucket %s: %w", Bucket, err)
	}
	return &Service{kv: kv, layer: layer, reg: reg, audit: rec, log: log.With("component", "accessreq"), now: time.Now}, nil
}

// ParseEndDate reads an end date, YYYY-MM-DD (the grant ends at the end of
// that day, UTC) or an RFC 3339 time.
func ParseEndDate(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if d, err := time.Parse(time.DateOnly, s); err == nil {
		return d.AddDate(0, 0, 1), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	return time.Time{}, fmt.Errorf("%w: end date %q: want YYYY-MM-DD", ErrInvalid, truncate(s, 40))
}

// Create records a new pending request by actor and audits it.
func (s *Service) Create(ctx context.Context, actor, dataset, action, purpose string, until time.Time) (Request, error) {
	now := s.now().UTC()
	if !wire.ValidName(actor) {
		return Request{}, fmt.Errorf("%w: actor %q", ErrInvalid, truncate(actor, 64))
	}
	if _, ok := s.reg.Get(dataset); !ok || !wire.ValidName(dataset) {
		return Request{}, fmt.Errorf("%w: dataset %q is not declared on this hub", ErrInvalid, truncate(dataset, 64))
	}
	if !slices.Contains(policy.Actions(), action) || action == policy.ActionRegisterSchema {
		return Request{}, fmt.Errorf("%w: action %q: ask for subscribe, publish or read-schema", ErrInvalid, truncate(action, 32))
	}
	purpose = strings.TrimSpace(purpose)
	if purpose == "" || utf8.RuneCountInString(purpose) > MaxPurpose || !utf8.ValidString(purpose) || strings.ContainsFunc(purpose, badControl) {
		return Request{}, fmt.Errorf("%w: purpose: say why, in 1 to %d characters of text", ErrInvalid, MaxPurpose)
	}
	if !until.After(now) || until.Sub(now) > MaxDuration {
		return Request{}, fmt.Errorf("%w: end date %s: must be after today and within 3 years", ErrInvalid, until.Format(time.DateOnly))
	}
	mine, err := s.List(ctx, actor, StatePending)
	if err != nil {
		return Request{}, err
	}
	for _, r := range mine {
		if r.Dataset == dataset && r.Action == action {
			return Request{}, fmt.Errorf("%w: request %s for %s on %s", ErrDuplicate, r.ID, action, dataset)
		}
	}
	id, err := uuid.NewV7()
	if err != nil {
		return Request{}, fmt.Errorf("request id: %w", err)
	}
	r := Request{ID: id.String(), Actor: actor, Dataset: dataset, Action: action, Purpose: purpose, Until: until.UTC(), State: StatePending, CreatedAt: now}
	if err := s.put(ctx, r, 0); err != nil {
		return Request{}, err
	}
	if err := s.record(ctx, KindRequested, actor, r); err != nil {
		return r, err
	}
	return r, nil
}

// Get returns the request with id.
func (s *Service) Get(ctx context.Context, id string) (Request, error) {
	r, _, err := s.get(ctx, id)
	return r, err
}

func (s *Service) get(ctx context.Context, id string) (Request, uint64, error) {
	if _, err := uuid.Parse(id); err != nil {
		return Request{}, 0, fmt.Errorf("%w: %q", ErrNotFound, truncate(id, 64))
	}
	e, err := s.kv.Get(ctx, id)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return Request{}, 0, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	if err != nil {
		return Request{}, 0, fmt.Errorf("read access request %s: %w", id, err)
	}
	var r Request
	if err := json.Unmarshal(e.Value(), &r); err != nil {
		return Request{}, 0, fmt.Errorf("decode access request %s: %w", id, err)
	}
	return r.Shown(s.now()), e.Revision(), nil
}

// List returns the requests, newest first, of actor ("" = every actor) in
// state ("" = any; "expired" for approved ones past their end).
func (s *Service) List(ctx context.Context, actor, state string) ([]Request, error) {
	lister, err := s.kv.ListKeys(ctx)
	if errors.Is(err, jetstream.ErrNoKeysFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list access requests: %w", err)
	}
	var out []Request
	for k := range lister.Keys() {
		r, _, err := s.get(ctx, k)
		if err != nil {
			s.log.Warn("access request unreadable", "id", k, "err", err)
			continue
		}
		if (actor == "" || r.Actor == actor) && (state == "" || r.State == state) {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b Request) int { return cmp.Compare(b.ID, a.ID) }) // UUIDv7: newest first
	return out, nil
}

// Approve approves a pending request: its grant is in force, on live
// connections too, when Approve returns.
func (s *Service) Approve(ctx context.Context, id, by, note string) (Request, error) {
	return s.decide(ctx, id, by, note, StateApproved)
}

// Decline declines a pending request with a reason.
func (s *Service) Decline(ctx context.Context, id, by, reason string) (Request, error) {
	if strings.TrimSpace(reason) == "" {
		return Request{}, fmt.Errorf("%w: a decline needs a reason the actor can read", ErrInvalid)
	}
	return s.decide(ctx, id, by, reason, StateDeclined)
}

func (s *Service) decide(ctx context.Context, id, by, reason, state string) (Request, error) {
	reason = strings.TrimSpace(reason)
	if utf8.RuneCountInString(reason) > MaxReason || strings.ContainsFunc(reason, badControl) {
		return Request{}, fmt.Errorf("%w: reason: at most %d characters of text", ErrInvalid, MaxReason)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, rev, err := s.get(ctx, id)
	if err != nil {
		return Request{}, err
	}
	if r.State != StatePending {
		return r, fmt.Errorf("%w: %s is %s", ErrDecided, id, r.State)
	}
	now := s.now().UTC()
	r.State, r.DecidedAt, r.DecidedBy, r.Reason = state, &now, by, reason
	if state == StateApproved {
		r.PolicyID = "access-request-" + r.ID
	}
	if err := s.put(ctx, r, rev); err != nil {
		return Request{}, err
	}
	kind := KindDeclined
	if state == StateApproved {
		kind = KindApproved
		if err := s.applyLayer(ctx, by); err != nil {
			// Undo: the request stays pending when its grant is not in force.
			r2 := r
			r2.State, r2.DecidedAt, r2.DecidedBy, r2.Reason, r2.PolicyID = StatePending, nil, "", "", ""
			if _, rev2, gerr := s.get(ctx, id); gerr == nil {
				_ = s.put(ctx, r2, rev2)
			}
			return Request{}, fmt.Errorf("approve %s: %w", id, err)
		}
	}
	if err := s.record(ctx, kind, by, r); err != nil {
		return r, err
	}
	return r, nil
}

// applyLayer puts every approved, unexpired request's grant in force.
func (s *Service) applyLayer(ctx context.Context, by string) error {
	all, err := s.List(ctx, "", StateApproved)
	if err != nil {
		return err
	}
	docs := []map[string]any{}
	for _, r := range all {
		docs = append(docs, map[string]any{
			"id":          r.PolicyID,
			"description": fmt.Sprintf("access request %s by %s, approved by %s", r.ID, r.Actor, r.DecidedBy),
			"subjects":    []string{"actor:" + r.Actor},
			"resources":   []string{"dataset:" + r.Dataset},
			"actions":     []string{r.Action},
			"effect":      "allow",
			"conditions": map[string]any{"time": map[string]any{"type": "TimeWindowCondition",
				"options": map[string]string{"until": r.Until.Format(time.RFC3339)}}},
		})
	}
	b, err := json.Marshal(docs)
	if err != nil {
		return err
	}
	files := map[string][]byte{}
	if len(docs) > 0 {
		files["requests.json"] = b
	}
	_, err = s.layer.ApplyLayer(ctx, Layer, files, by)
	return err
}

func (s *Service) put(ctx context.Context, r Request, rev uint64) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if rev == 0 {
		_, err = s.kv.Create(ctx, r.ID, b)
	} else {
		_, err = s.kv.Update(ctx, r.ID, b, rev)
	}
	if err != nil {
		return fmt.Errorf("store access request %s: %w", r.ID, err)
	}
	return nil
}

func (s *Service) record(ctx context.Context, kind, by string, r Request) error {
	detail, _ := json.Marshal(map[string]any{"id": r.ID, "actor": r.Actor, "dataset": r.Dataset, "action": r.Action,
		"until": r.Until, "state": r.State, "reason": r.Reason, "policy_id": r.PolicyID})
	if _, err := s.audit.Record(ctx, audit.Entry{Kind: kind, Actor: by, Subject: r.Actor + "/" + r.Dataset, Detail: detail}); err != nil {
		return fmt.Errorf("access request %s %s, but its audit entry is not stored yet: %w", r.ID, r.State, err)
	}
	return nil
}

// badControl reports control characters other than newline and tab.
func badControl(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\t' && r != '\r' }

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
