package federation

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/jobtech-dev/datahub/connector-kit/kit"
	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/hub/internal/audit"
)

// Audit anchors travel over the links, both ways: the taking hub hands the
// giving hub its latest signed anchor on hub.anchor.<its identity> — when
// the link comes up and each time it anchors (it is an audit.AnchorSink) —
// and is answered with the giving hub's. Each hub thus keeps the other's
// last anchor in its own state, where the other's admins cannot reach it:
// an audit log rewritten or cut on one hub no longer passes through the
// anchor its peer holds ('hub peer anchor NAME' prints it for
// 'hub audit verify --anchor').

// anchorExchange is what both sides send: an anchor, or why there is none.
type anchorExchange struct {
	Anchor *audit.Anchor `json:"anchor,omitempty"`
	Error  string        `json:"error,omitempty"`
}

// PublishAnchor implements audit.AnchorSink: it hands a to every peer a
// link on this node takes from.
func (s *Service) PublishAnchor(ctx context.Context, a audit.Anchor) error {
	s.mu.Lock()
	links := make([]*link, 0, len(s.running))
	for _, l := range s.running {
		links = append(links, l)
	}
	s.mu.Unlock()
	for _, l := range links {
		if c := l.conn(); c != nil && c.State().Connected {
			s.sendAnchor(ctx, l, c, &a)
		}
	}
	return nil
}

// exchangeAnchor hands this hub's last anchor (if any) to the peer of l and
// keeps the peer's.
func (s *Service) exchangeAnchor(ctx context.Context, l *link, c *kit.Client) {
	var own *audit.Anchor
	if s.d.Anchors != nil {
		if a, ok := s.d.Anchors.Last(); ok {
			own = &a
		}
	}
	s.sendAnchor(ctx, l, c, own)
}

func (s *Service) sendAnchor(ctx context.Context, l *link, c *kit.Client, own *audit.Anchor) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	body, _ := json.Marshal(anchorExchange{Anchor: own})
	m, err := c.Conn().RequestWithContext(ctx, wire.AnchorSubject(l.cfg.Identity), body)
	if err != nil {
		l.log.Debug("audit anchor exchange", "err", err)
		return
	}
	var rep anchorExchange
	if err := json.Unmarshal(m.Data, &rep); err != nil || rep.Anchor == nil {
		if rep.Error != "" {
			l.log.Warn("the peer hub refused this hub's audit anchor", "err", rep.Error)
		}
		return
	}
	if err := s.keepAnchor(ctx, l.cfg.Name, *rep.Anchor); err != nil {
		l.log.Warn("audit anchor of the peer hub not kept", "err", err)
	}
}

// answerAnchor is the giving side: a peer hands over its anchor and gets
// this hub's.
func (s *Service) answerAnchor(m *nats.Msg) {
	token := m.Subject[len(wire.AnchorPrefix)+1:]
	name, ok := wire.PeerName(token)
	if !ok || m.Reply == "" || !wire.ReplyAllowed(token, m.Reply) {
		return
	}
	ctx, cancel := context.WithTimeout(s.ctx, 5*time.Second)
	defer cancel()
	var req anchorExchange
	var rep anchorExchange
	if err := json.Unmarshal(m.Data, &req); err != nil {
		rep.Error = "bad anchor exchange: " + err.Error()
	} else if req.Anchor != nil {
		if err := s.keepAnchor(ctx, name, *req.Anchor); err != nil {
			rep.Error = err.Error()
		}
	}
	if s.d.Anchors != nil {
		if a, ok := s.d.Anchors.Last(); ok {
			rep.Anchor = &a
		}
	}
	b, _ := json.Marshal(rep)
	_ = m.Respond(b)
}

// keepAnchor checks a peer's anchor (signed, by the hub it names) and keeps
// it unless it is older than the one held. A signing key other than the
// one the peer used before is kept too, and audited.
func (s *Service) keepAnchor(ctx context.Context, peer string, a audit.Anchor) error {
	if err := a.Check(""); err != nil {
		return fmt.Errorf("anchor of %s: %w", peer, err)
	}
	if a.Hub != peer {
		return fmt.Errorf("anchor of hub %q handed over as peer %q: a peer is named after the hub (its --name)", a.Hub, peer)
	}
	prev, had := s.st.anchor(ctx, peer)
	if had && prev.Key == a.Key && (a.Seq < prev.Seq || a.Time.Before(prev.Time)) {
		return nil // an older one, delivered late
	}
	if had && prev.Key != a.Key {
		s.d.Audit.Submit(audit.Entry{Kind: audit.KindPeerAnchorKeySwap, Actor: "hub", Subject: peer,
			Detail: mustJSON(map[string]any{"previous_key": prev.Key, "key": a.Key, "previous": prev, "anchor": a})})
		s.log.Warn("peer hub signs its audit anchors with another key", "peer", peer, "previous_key", prev.Key, "key", a.Key)
	}
	return s.st.putAnchor(ctx, peer, a)
}
