// Package delivery hands datasets to subscribers. An actor asks for a
// subscription; the hub (which alone may use the JetStream API) creates a
// consumer for that actor that pushes records to a deliver subject only that
// actor may subscribe to. Records then flow from JetStream to the actor
// without the hub in the data path, and the actor's acks go straight back to
// JetStream through the messages' reply subjects.
//
// Who may subscribe to what is not decided here: the NATS server only lets
// an actor ask on hub.subscribe.<dataset>.<actor> and read
// deliver.<actor>.<dataset>.> when the sharing policies allow it. What
// becomes of a consumer whose actor lost that right is decided here:
// [Reconcile] pauses it for a grace period, keeping its position, and
// removes it when the period ends.
package delivery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"regexp"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/hub/internal/registry"
)

// Queue is the queue group of the hub nodes serving subscriptions.
const Queue = "hub-delivery"

// Bounds on what an actor may ask for, so no actor can exhaust the hub.
const (
	// MaxConsumersPerActor bounds an actor's subscriptions per dataset.
	MaxConsumersPerActor = 64
	// MaxAckPending bounds records in flight to one subscriber.
	MaxAckPending = 10000
	// MinAckWait and MaxAckWait bound the redelivery delay; MaxAckWait
	// stays below how long an actor may answer a delivery (its ack).
	MinAckWait = time.Second
	MaxAckWait = 10 * time.Minute
)

// Service answers subscription and schema requests.
type Service struct {
	nc       *nats.Conn
	js       jetstream.JetStream
	reg      *registry.Registry
	log      *slog.Logger
	subs     []*nats.Subscription
	register RegisterFunc
	// ctx is the service's own, from Start to Stop: every JetStream call a
	// request makes runs under it, bounded by a timeout.
	ctx    context.Context
	cancel context.CancelFunc
}

// RegisterFunc registers doc as the next schema version of dataset for
// actor, whom the server let ask (register-schema on the dataset), and
// says how it went (datasets.Service.RegisterForActor).
type RegisterFunc func(ctx context.Context, dataset, actor string, doc []byte) wire.RegisterSchemaReply

// SetRegistrar makes the service answer schema registrations with fn; call
// it before Start. Without one, none are answered.
func (s *Service) SetRegistrar(fn RegisterFunc) { s.register = fn }

// New returns a service answering on nc.
func New(nc *nats.Conn, js jetstream.JetStream, reg *registry.Registry, log *slog.Logger) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{nc: nc, js: js, reg: reg, log: log.With("component", "delivery")}
}

// Start subscribes to the service subjects.
func (s *Service) Start(ctx context.Context) error {
	s.ctx, s.cancel = context.WithCancel(context.WithoutCancel(ctx))
	handlers := map[string]nats.MsgHandler{
		wire.SubscribePrefix + ".*.*":   s.subscribe,
		wire.UnsubscribePrefix + ".*.*": s.unsubscribe,
		wire.SchemaPrefix + ".*.*":      s.schema,
		wire.CatalogPrefix + ".*":       s.catalog,
	}
	if s.register != nil {
		handlers[wire.RegisterSchemaPrefix+".*.*"] = s.registerSchema
	}
	for subj, h := range handlers {
		sub, err := s.nc.QueueSubscribe(subj, Queue, h)
		if err != nil {
			return fmt.Errorf("subscribe %s: %w", subj, err)
		}
		s.subs = append(s.subs, sub)
	}
	return s.nc.Flush()
}

// Stop stops answering and cancels the service's context: a request still
// being answered has its JetStream calls cut short and is answered
// unavailable (its client asks again, of this hub's next start or another
// node). Stop does not wait.
func (s *Service) Stop() {
	for _, sub := range s.subs {
		_ = sub.Drain()
	}
	if s.cancel != nil {
		s.cancel()
	}
}

var durableRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// ConsumerName is the JetStream consumer of an actor's durable subscription.
func ConsumerName(actor, durable string) string { return actor + "_" + durable }

// fail answers a refused request with its code.
func (s *Service) fail(m *nats.Msg, code wire.Code, msg string) {
	s.reply(m, wire.SubscribeReply{Code: code, Error: msg})
}

func (s *Service) reply(m *nats.Msg, r wire.SubscribeReply) {
	b, _ := json.Marshal(r)
	_ = m.Respond(b)
}

// replyOK reports whether m may be answered: its reply subject must be the
// asking actor's own inbox (the actor is the last token of the subject).
func (s *Service) replyOK(m *nats.Msg) bool {
	i := strings.LastIndexByte(m.Subject, '.')
	if i < 0 || m.Reply == "" || !wire.ReplyAllowed(m.Subject[i+1:], m.Reply) {
		s.log.Warn("request ignored: reply subject outside the actor's inbox", "subject", m.Subject, "reply", m.Reply)
		return false
	}
	return true
}

func (s *Service) subscribe(m *nats.Msg) {
	if !s.replyOK(m) {
		return
	}
	dataset, actor, err := wire.ParseServiceSubject(wire.SubscribePrefix, m.Subject)
	if err != nil {
		s.fail(m, wire.CodeBadRequest, err.Error())
		return
	}
	if _, ok := s.reg.Get(dataset); !ok {
		s.fail(m, wire.CodeUnknownDataset, fmt.Sprintf("dataset %q is not declared on this hub", dataset))
		return
	}
	var req wire.SubscribeRequest
	if len(m.Data) > 0 {
		if err := json.Unmarshal(m.Data, &req); err != nil {
			s.fail(m, wire.CodeBadRequest, "bad subscribe request: "+err.Error())
			return
		}
	}
	cfg, err := consumerConfig(actor, dataset, req)
	if err != nil {
		s.fail(m, wire.CodeBadRequest, err.Error())
		return
	}
	ctx, cancel := context.WithTimeout(s.ctx, 5*time.Second)
	defer cancel()
	stream := wire.StreamName(dataset)
	if req.Durable != "" {
		// A durable subscription resumes: keep the consumer if it exists,
		// with the ack wait and window the request asks for now.
		if c, err := s.js.PushConsumer(ctx, stream, cfg.Durable); err == nil {
			info := s.retune(ctx, stream, c.CachedInfo(), req, cfg)
			s.reply(m, wire.SubscribeReply{Consumer: info.Name, Stream: stream, DeliverSubject: info.Config.DeliverSubject, Pending: info.NumPending + uint64(info.NumAckPending)})
			return
		}
	}
	if n, err := s.countConsumers(ctx, stream, actor); err != nil {
		s.fail(m, wire.CodeUnavailable, "count subscriptions: "+err.Error())
		return
	} else if n >= MaxConsumersPerActor {
		s.fail(m, wire.CodeRateLimited, fmt.Sprintf("too many subscriptions: %s has %d on %s (at most %d); unsubscribe or reuse a durable name", actor, n, dataset, MaxConsumersPerActor))
		return
	}
	c, err := s.js.CreatePushConsumer(ctx, stream, cfg)
	if err != nil {
		s.log.Error("create consumer", "actor", actor, "dataset", dataset, "err", err)
		s.fail(m, wire.CodeUnavailable, "create subscription: "+err.Error())
		return
	}
	info := c.CachedInfo()
	s.log.Info("subscription created", "actor", actor, "dataset", dataset, "consumer", info.Name)
	s.reply(m, wire.SubscribeReply{Consumer: info.Name, Stream: stream, DeliverSubject: info.Config.DeliverSubject, Pending: info.NumPending})
}

// retune gives an existing durable consumer the ack wait and window req
// sets (cfg holds them, bounded), when they differ: a subscription resumed
// with new settings (a federation link made before its ack wait was
// shortened) gets them. The other settings of a consumer cannot change.
// On failure the consumer is kept as it was.
func (s *Service) retune(ctx context.Context, stream string, info *jetstream.ConsumerInfo, req wire.SubscribeRequest, cfg jetstream.ConsumerConfig) *jetstream.ConsumerInfo {
	nc := info.Config
	if req.AckWait > 0 {
		nc.AckWait = cfg.AckWait
	}
	if req.MaxAckPending > 0 {
		nc.MaxAckPending = cfg.MaxAckPending
	}
	if nc.AckWait == info.Config.AckWait && nc.MaxAckPending == info.Config.MaxAckPending {
		return info
	}
	c, err := s.js.UpdatePushConsumer(ctx, stream, nc)
	if err != nil {
		s.log.Warn("durable subscription kept with its old settings", "consumer", info.Name, "ack_wait", nc.AckWait, "max_ack_pending", nc.MaxAckPending, "err", err)
		return info
	}
	s.log.Info("durable subscription resumed with new settings", "consumer", info.Name, "ack_wait", nc.AckWait, "max_ack_pending", nc.MaxAckPending)
	return c.CachedInfo()
}

func consumerConfig(actor, dataset string, req wire.SubscribeRequest) (jetstream.ConsumerConfig, error) {
	name := ""
	if req.Durable != "" {
		if !durableRE.MatchString(req.Durable) {
			return jetstream.ConsumerConfig{}, fmt.Errorf("durable %q: use 1-64 letters, digits, '-' or '_'", req.Durable)
		}
		name = ConsumerName(actor, req.Durable)
	} else {
		name = actor + "_" + nats.NewInbox()[len(nats.InboxPrefix):]
	}
	cfg := jetstream.ConsumerConfig{
		Name:           name,
		DeliverSubject: wire.DeliverSubject(actor, dataset, name),
		FilterSubject:  wire.DataFilter(dataset),
		AckPolicy:      jetstream.AckExplicitPolicy,
		AckWait:        30 * time.Second,
		MaxAckPending:  1024,
		FlowControl:    true,
		IdleHeartbeat:  5 * time.Second,
		Metadata:       map[string]string{MetaActor: actor, MetaDataset: dataset},
	}
	if req.Durable != "" {
		cfg.Durable = name
	} else {
		cfg.InactiveThreshold = 5 * time.Minute
	}
	if _, peer := wire.PeerName(actor); peer {
		// A peer hub's link bounds what is in flight by its window (max
		// ack pending) and needs no flow control; with it, a flow-control
		// request lost when the link is cut would stall the consumer for
		// good: the server's reminder names a $JS subject, which no peer
		// (and no actor) may publish to.
		cfg.FlowControl = false
	}
	if req.MaxAckPending > 0 {
		cfg.MaxAckPending = min(req.MaxAckPending, MaxAckPending)
	}
	if req.AckWait > 0 {
		cfg.AckWait = max(MinAckWait, min(req.AckWait, MaxAckWait))
	}
	switch req.Start {
	case "", wire.StartAll:
		cfg.DeliverPolicy = jetstream.DeliverAllPolicy
	case wire.StartNew:
		cfg.DeliverPolicy = jetstream.DeliverNewPolicy
	case wire.StartSnapshot:
		cfg.DeliverPolicy = jetstream.DeliverLastPerSubjectPolicy
	case wire.StartAfterSeq:
		if req.AfterSeq == math.MaxUint64 {
			return cfg, fmt.Errorf("after_seq %d: no record can come after it", req.AfterSeq)
		}
		cfg.DeliverPolicy = jetstream.DeliverByStartSequencePolicy
		cfg.OptStartSeq = req.AfterSeq + 1
	case wire.StartSince:
		if req.Since.IsZero() {
			return cfg, errors.New("start since needs since")
		}
		t := req.Since
		cfg.DeliverPolicy = jetstream.DeliverByStartTimePolicy
		cfg.OptStartTime = &t
	default:
		return cfg, fmt.Errorf("start %q: want all, new, snapshot, after or since", req.Start)
	}
	return cfg, nil
}

func (s *Service) unsubscribe(m *nats.Msg) {
	if !s.replyOK(m) {
		return
	}
	dataset, actor, err := wire.ParseServiceSubject(wire.UnsubscribePrefix, m.Subject)
	if err != nil {
		s.fail(m, wire.CodeBadRequest, err.Error())
		return
	}
	var req wire.UnsubscribeRequest
	err = json.Unmarshal(m.Data, &req)
	name := ""
	switch {
	case err != nil:
	case req.Durable != "" && req.Consumer == "" && durableRE.MatchString(req.Durable):
		name = ConsumerName(actor, req.Durable)
	case req.Durable == "" && req.Consumer != "":
		// An ephemeral consumer is named <actor>_<id>: an actor can only
		// name its own (actor names have no '_').
		if rest, ok := strings.CutPrefix(req.Consumer, actor+"_"); ok && durableRE.MatchString(rest) {
			name = req.Consumer
		}
	}
	if name == "" {
		s.fail(m, wire.CodeBadRequest, "unsubscribe needs {\"durable\": name} or {\"consumer\": one of your consumers}")
		return
	}
	ctx, cancel := context.WithTimeout(s.ctx, 5*time.Second)
	defer cancel()
	if err := s.js.DeleteConsumer(ctx, wire.StreamName(dataset), name); err != nil {
		code := wire.CodeUnavailable
		if errors.Is(err, jetstream.ErrConsumerNotFound) {
			code = wire.CodeNotFound
		} else if errors.Is(err, jetstream.ErrStreamNotFound) {
			code = wire.CodeUnknownDataset
		}
		s.fail(m, code, "unsubscribe: "+err.Error())
		return
	}
	s.reply(m, wire.SubscribeReply{Consumer: name, Stream: wire.StreamName(dataset)})
}

// catalog answers the names of the hub's datasets.
func (s *Service) catalog(m *nats.Msg) {
	if !s.replyOK(m) {
		return
	}
	names := []string{}
	for _, d := range s.reg.List() {
		names = append(names, d.Name)
	}
	b, _ := json.Marshal(names)
	_ = m.Respond(b)
}

// schema answers a schema request: the latest version, the one asked for,
// or the list of versions (see wire.SchemaRequest).
func (s *Service) schema(m *nats.Msg) {
	if !s.replyOK(m) {
		return
	}
	dataset, _, err := wire.ParseServiceSubject(wire.SchemaPrefix, m.Subject)
	if err != nil {
		return
	}
	refuse := func(code wire.Code, msg string) {
		r := nats.NewMsg(m.Reply)
		r.Header.Set(wire.HeaderErrorCode, string(code))
		r.Header.Set(wire.HeaderErrorMessage, msg)
		_ = m.RespondMsg(r)
	}
	d, ok := s.reg.Get(dataset)
	if !ok {
		refuse(wire.CodeUnknownDataset, fmt.Sprintf("dataset %q is not declared on this hub", dataset))
		return
	}
	var req wire.SchemaRequest
	if len(m.Data) > 0 {
		if err := json.Unmarshal(m.Data, &req); err != nil {
			refuse(wire.CodeBadRequest, "bad schema request: "+err.Error())
			return
		}
	}
	if req.List {
		b, _ := json.Marshal(VersionList(d))
		_ = m.Respond(b)
		return
	}
	v := d.Latest()
	if req.Version != 0 {
		if v, ok = d.Version(req.Version); !ok {
			refuse(wire.CodeNotFound, fmt.Sprintf("dataset %s has no schema version %d (latest: %d)", dataset, req.Version, d.SchemaVersion))
			return
		}
	}
	msg := nats.NewMsg(m.Reply)
	msg.Header.Set(wire.HeaderSchemaVersion, fmt.Sprint(v.Number))
	msg.Header.Set(wire.HeaderSchemaLatest, fmt.Sprint(d.SchemaVersion))
	msg.Header.Set(wire.HeaderKeyScope, d.KeyScope)
	msg.Header.Set(wire.HeaderDatasetOwner, d.Owner)
	if d.Retired != nil {
		msg.Header.Set(wire.HeaderDatasetRetired, "true")
	}
	msg.Data = v.Source.Doc
	_ = m.RespondMsg(msg)
}

// VersionList lists d's schema versions as the schema service and the API
// answer them.
func VersionList(d *registry.Dataset) wire.SchemaVersions {
	out := wire.SchemaVersions{Dataset: d.Name, Latest: d.SchemaVersion, Compatibility: string(d.Compatibility), Versions: []wire.SchemaVersionInfo{}}
	for _, v := range d.Versions {
		out.Versions = append(out.Versions, wire.SchemaVersionInfo{Version: v.Number, RegisteredAt: v.RegisteredAt, By: v.By, Route: v.Route, Digest: v.Digest})
	}
	return out
}

// registerSchema answers an actor's request to register a schema version.
// The server lets an actor ask only with register-schema on the dataset.
func (s *Service) registerSchema(m *nats.Msg) {
	if !s.replyOK(m) {
		return
	}
	answer := func(r wire.RegisterSchemaReply) {
		b, _ := json.Marshal(r)
		_ = m.Respond(b)
	}
	dataset, actor, err := wire.ParseServiceSubject(wire.RegisterSchemaPrefix, m.Subject)
	if err != nil {
		answer(wire.RegisterSchemaReply{Code: wire.CodeBadRequest, Error: err.Error()})
		return
	}
	var req wire.RegisterSchemaRequest
	if err := json.Unmarshal(m.Data, &req); err != nil || len(req.Schema) == 0 {
		answer(wire.RegisterSchemaReply{Dataset: dataset, Code: wire.CodeBadRequest, Error: `a registration is {"schema": <the JSON Schema document>}`})
		return
	}
	ctx, cancel := context.WithTimeout(s.ctx, 30*time.Second)
	defer cancel()
	answer(s.register(ctx, dataset, actor, req.Schema))
}

// countConsumers counts actor's consumers on stream.
func (s *Service) countConsumers(ctx context.Context, stream, actor string) (int, error) {
	st, err := s.js.Stream(ctx, stream)
	if err != nil {
		return 0, err
	}
	n := 0
	lister := st.ListConsumers(ctx)
	for info := range lister.Info() {
		if info.Config.Metadata[MetaActor] == actor {
			n++
		}
	}
	return n, lister.Err()
}

// RemoveActor deletes every consumer of actor on dataset (all datasets when
// dataset is ""): used when an actor is revoked.
func RemoveActor(ctx context.Context, js jetstream.JetStream, reg *registry.Registry, actor, dataset string) (int, error) {
	return RemoveWhere(ctx, js, reg, func(a, d string) bool { return a == actor && (dataset == "" || d == dataset) })
}

// RemoveWhere deletes every actor consumer for which drop(actor, dataset)
// is true: used when policies change, for subscriptions no longer allowed.
func RemoveWhere(ctx context.Context, js jetstream.JetStream, reg *registry.Registry, drop func(actor, dataset string) bool) (int, error) {
	n := 0
	for _, d := range reg.List() {
		st, err := js.Stream(ctx, wire.StreamName(d.Name))
		if err != nil {
			continue
		}
		lister := st.ListConsumers(ctx)
		var names []string
		for info := range lister.Info() {
			if a := info.Config.Metadata[MetaActor]; a != "" && drop(a, d.Name) {
				names = append(names, info.Name)
			}
		}
		for _, name := range names {
			if err := st.DeleteConsumer(ctx, name); err == nil {
				n++
			}
		}
	}
	return n, nil
}
