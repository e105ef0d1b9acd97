package wire

import (
	"fmt"
	"strings"
)

// Federation: hubs share datasets with peer hubs. A taking hub connects to
// the giving hub like an actor does, as an identity the giving hub's
// policies name "hub:<name>". A colon cannot stand in a NATS subject token,
// so on the wire the identity is the token PeerPrefix+name ("hub_regional"):
// its inbox is _INBOX_hub_regional, its deliveries deliver.hub_regional.…
// No actor can take such a token: actor names have no '_'.

// PeerPrefix starts the subject token of a peer hub's identity.
const PeerPrefix = "hub_"

// PeerSubjectPrefix starts a peer hub's identity in policies and messages:
// "hub:<name>".
const PeerSubjectPrefix = "hub:"

// PeerActor is the subject token of the peer hub name: "hub_<name>".
func PeerActor(name string) string { return PeerPrefix + name }

// PeerName returns the peer hub name of a subject token made by PeerActor,
// and whether actor is one.
func PeerName(actor string) (string, bool) {
	name, ok := strings.CutPrefix(actor, PeerPrefix)
	if !ok || !ValidName(name) {
		return "", false
	}
	return name, true
}

// ValidIdentity reports whether s names an identity that may connect: an
// actor ([ValidName]) or a peer hub's token ([PeerActor]).
func ValidIdentity(s string) bool {
	if ValidName(s) {
		return true
	}
	_, ok := PeerName(s)
	return ok
}

// DisplayName is how people read an identity's subject token: the actor's
// name, or "hub:<name>" for a peer hub.
func DisplayName(actor string) string {
	if name, ok := PeerName(actor); ok {
		return PeerSubjectPrefix + name
	}
	return actor
}

// ParseIdentity turns what people write — an actor name or "hub:<name>" —
// into the identity's subject token.
func ParseIdentity(s string) (string, error) {
	if name, ok := strings.CutPrefix(s, PeerSubjectPrefix); ok {
		if !ValidName(name) {
			return "", fmt.Errorf("%q: a peer hub is hub:NAME with NAME matching [a-z][a-z0-9-]{0,62}", s)
		}
		return PeerActor(name), nil
	}
	if !ValidName(s) {
		return "", fmt.Errorf("%q is not an actor name ([a-z][a-z0-9-]{0,62}) or a peer hub (hub:NAME)", s)
	}
	return s, nil
}

// HeaderPath lists the hubs a federated record crossed, origin first and
// the hub that stored this copy last, comma-separated ("af,regional"). A
// record stored on its origin hub has none: its path is its origin alone.
// A hub refuses a record whose path already names it, so records never
// loop.
const HeaderPath = "Hub-Path"

// HeaderPeer names, on a dead letter of a federated record, the peer hub
// it came from.
const HeaderPeer = "Hub-Peer"

// MaxPathHops bounds a record's path.
const MaxPathHops = 16

// RecordPath is the path of a record from its headers: Hub-Path, or the
// origin alone when it has none.
func RecordPath(h map[string][]string) []string {
	if v := h[HeaderPath]; len(v) > 0 && v[0] != "" {
		return strings.Split(v[0], ",")
	}
	if v := h[HeaderOrigin]; len(v) > 0 && v[0] != "" {
		return []string{v[0]}
	}
	return nil
}

// CheckPath checks a federated record's path: 1 to MaxPathHops hub names,
// origin first, none twice.
func CheckPath(path []string, origin string) error {
	switch {
	case len(path) == 0:
		return fmt.Errorf("no path")
	case len(path) > MaxPathHops:
		return fmt.Errorf("path of %d hubs (at most %d)", len(path), MaxPathHops)
	case path[0] != origin:
		return fmt.Errorf("path %s does not start at the origin %q", strings.Join(path, ","), origin)
	}
	for i, h := range path {
		if !ValidName(h) {
			return fmt.Errorf("path %q: %q is not a hub name", strings.Join(path, ","), h)
		}
		for _, g := range path[:i] {
			if g == h {
				return fmt.Errorf("path %s names hub %q twice", strings.Join(path, ","), h)
			}
		}
	}
	return nil
}

// AnchorPrefix: hub.anchor.<peer token> is where a peer hub hands the
// giving hub its latest signed audit anchor and is answered with the giving
// hub's own, so each hub keeps a copy of the other's anchor that its own
// admins cannot reach.
const AnchorPrefix = "hub.anchor"

// AnchorSubject is where peer hands over and asks for anchors.
func AnchorSubject(peer string) string { return AnchorPrefix + "." + peer }
