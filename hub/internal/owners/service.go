package owners

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/hub/internal/audit"
	"github.com/jobtech-dev/datahub/hub/internal/registry"
)

// KindKeyTransfer is the audit entry of a key transfer.
const KindKeyTransfer = "key.transfer"

// Queue is the queue group of the hub nodes answering key requests.
const Queue = "hub-keys"

// Transfer gives key of d to publisher to (of origin, this hub), records the
// transfer in the audit log and returns the new owner. by is the admin or
// actor that asked; the caller has checked it may. It fails with
// ErrNotShared for a dataset whose keys are scoped by publisher.
func Transfer(ctx context.Context, st *Store, log *audit.Log, d *registry.Dataset, key, to, origin, by string) (wire.KeyOwner, error) {
	if d.ScopedByPublisher() {
		return wire.KeyOwner{}, fmt.Errorf("dataset %s: %w", d.Name, ErrNotShared)
	}
	next, prev, err := st.Transfer(ctx, d.Name, key, origin, to, by)
	if err != nil {
		return next, err
	}
	detail := map[string]string{"dataset": d.Name, "key": key, "to": Owner{Origin: origin, Publisher: to}.String()}
	if prev != nil {
		detail["from"] = Owner{Origin: prev.Origin, Publisher: prev.Publisher}.String()
	}
	if log != nil {
		b, _ := json.Marshal(detail)
		if _, err := log.Append(ctx, audit.Entry{Kind: KindKeyTransfer, Actor: by, Subject: d.Name + "/" + key, Detail: b}); err != nil {
			return next, fmt.Errorf("key %q of %s transferred to %s, but the audit entry was not stored: %w", key, d.Name, to, err)
		}
	}
	return next, nil
}

// Service answers actors' key requests on hub.keys.<dataset>.<actor>: who
// owns a key, and, for the dataset's owner, transfers.
type Service struct {
	nc     *nats.Conn
	reg    *registry.Registry
	st     *Store
	audit  *audit.Log
	origin string
	log    *slog.Logger
	sub    *nats.Subscription
	// ctx is the service's own, from Start to Stop: every call a request
	// makes runs under it, bounded by a timeout.
	ctx    context.Context
	cancel context.CancelFunc
}

// NewService returns a service answering on nc for the hub named origin.
func NewService(nc *nats.Conn, reg *registry.Registry, st *Store, log *audit.Log, origin string, logger *slog.Logger) *Service {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Service{nc: nc, reg: reg, st: st, audit: log, origin: origin, log: logger.With("component", "owners")}
}

// Start subscribes to the key request subjects.
func (s *Service) Start(ctx context.Context) error {
	s.ctx, s.cancel = context.WithCancel(context.WithoutCancel(ctx))
	sub, err := s.nc.QueueSubscribe(wire.KeysPrefix+".*.*", Queue, s.handle)
	if err != nil {
		return fmt.Errorf("subscribe %s: %w", wire.KeysPrefix, err)
	}
	s.sub = sub
	return s.nc.Flush()
}

// Stop stops answering and cancels the service's context: a request still
// being answered has its calls cut short and is answered unavailable.
func (s *Service) Stop() {
	if s.sub != nil {
		_ = s.sub.Drain()
	}
	if s.cancel != nil {
		s.cancel()
	}
}

func (s *Service) handle(m *nats.Msg) {
	dataset, actor, err := wire.ParseServiceSubject(wire.KeysPrefix, m.Subject)
	if err != nil || m.Reply == "" || !wire.ReplyAllowed(actor, m.Reply) {
		s.log.Warn("key request ignored: reply subject outside the actor's inbox", "subject", m.Subject, "reply", m.Reply)
		return
	}
	answer := func(r wire.KeyReply) {
		b, _ := json.Marshal(r)
		_ = m.Respond(b)
	}
	d, ok := s.reg.Get(dataset)
	if !ok {
		answer(wire.KeyReply{Code: wire.CodeUnknownDataset, Error: fmt.Sprintf("dataset %q is not declared on this hub", dataset)})
		return
	}
	var req wire.KeyRequest
	if err := json.Unmarshal(m.Data, &req); err != nil {
		answer(wire.KeyReply{Code: wire.CodeBadRequest, Error: "bad key request: " + err.Error()})
		return
	}
	if d.ScopedByPublisher() {
		answer(wire.KeyReply{Code: wire.CodeKeysNotShared, Error: fmt.Sprintf("dataset %s: %v", dataset, ErrNotShared)})
		return
	}
	ctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
	defer cancel()
	if req.TransferTo == "" {
		ko, err := s.st.Owner(ctx, dataset, req.Key)
		switch {
		case errors.Is(err, ErrNotOwned):
			answer(wire.KeyReply{})
		case err != nil:
			answer(wire.KeyReply{Code: codeOf(err), Error: err.Error()})
		default:
			answer(wire.KeyReply{Owner: &ko})
		}
		return
	}
	if actor != d.Owner {
		answer(wire.KeyReply{Code: wire.CodeForbidden, Error: fmt.Sprintf("only the owner of dataset %s (%s) or an admin may transfer its keys", dataset, d.Owner)})
		return
	}
	ko, err := Transfer(ctx, s.st, s.audit, d, req.Key, req.TransferTo, s.origin, actor)
	if err != nil {
		answer(wire.KeyReply{Code: codeOf(err), Error: err.Error()})
		return
	}
	s.log.Info("key transferred", "dataset", dataset, "key", req.Key, "to", req.TransferTo, "by", actor)
	answer(wire.KeyReply{Owner: &ko})
}

func codeOf(err error) wire.Code {
	if errors.Is(err, ErrInvalid) {
		return wire.CodeBadRequest
	}
	return wire.CodeUnavailable
}
