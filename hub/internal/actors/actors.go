// Package actors keeps the identities of the organisations that use the hub:
// one name and one nkey public key each. The hub never holds an actor's
// private key — the admin's CLI generates it and hands it to the actor — so
// a leak of the hub's state cannot be used to impersonate anyone.
//
// The state lives in a JetStream key-value bucket, so every node of a
// cluster sees the same actors; reads come from an in-memory copy that
// follows the bucket, so an actor revoked through one node is refused by
// every node within moments.
package actors

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/hub/internal/jsread"
)

// Bucket is the key-value bucket holding the actors.
const Bucket = "hub_actors"

// Errors returned by the store.
var (
	ErrExists      = errors.New("actor already exists")
	ErrNotFound    = errors.New("no such actor")
	ErrInvalidName = errors.New("invalid actor name")
	ErrInvalidKey  = errors.New("invalid nkey public key")
)

// reserved names belong to the hub itself.
var reserved = map[string]bool{wire.AdminActor: true, "hub": true, "system": true}

// Actor is one organisation's identity. A peer hub's identity is kept as
// one too, under its subject token (wire.PeerActor) as Name.
type Actor struct {
	Name      string    `json:"name"`
	PublicKey string    `json:"public_key"`
	CreatedAt time.Time `json:"created_at"`
}

// Store is the set of actors.
type Store struct {
	kv  jetstream.KeyValue
	o   Options
	w   jetstream.KeyWatcher
	end chan struct{} // closed when the watch loop returns
	// stop ends the watch's context (the store's own, from Open to Close).
	stop context.CancelFunc

	mu    sync.RWMutex
	byKey map[string]Actor
	byNm  map[string]Actor
}

// Options configure Open. The zero value works.
type Options struct {
	// Replicas is the bucket's number of copies in a cluster (default 1).
	Replicas int
	// Removed is told about each actor removed on any node of the cluster,
	// this one included, once the removal is known here (nil: no one).
	Removed func(Actor)
	// Logger gets the watch's troubles (default: discard).
	Logger *slog.Logger
}

// BucketConfig is the actors bucket with replicas copies.
func BucketConfig(replicas int) jetstream.KeyValueConfig {
	return jetstream.KeyValueConfig{Bucket: Bucket, Description: "actor identities (public keys only)", History: 5, Storage: jetstream.FileStorage, Replicas: max(replicas, 1)}
}

// Open opens (or creates) the actors bucket, loads it, and follows it: an
// actor created or revoked through any node of a cluster is known here
// within moments. Call Close. Errors name the bucket. Entries the server
// cannot load (damaged on disk) are passed over: Open then returns the
// store of every readable actor together with an error wrapping
// [jsread.ErrUnreadable] that names their sequences; the actors in them are
// refused until an admin creates them again.
func Open(ctx context.Context, js jetstream.JetStream, o Options) (*Store, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	kv, err := js.CreateOrUpdateKeyValue(ctx, BucketConfig(o.Replicas))
	if err != nil {
		return nil, fmt.Errorf("open actors bucket %s: %w", Bucket, err)
	}
	s := &Store{kv: kv, o: o, byKey: map[string]Actor{}, byNm: map[string]Actor{}, end: make(chan struct{})}
	// Read the newest entry of every key up to the bucket's last revision in
	// one ordered pass (jsread), not a key listing and a get per key: a
	// damaged entry then cannot stall the start, and is named. The watch
	// then takes over from the next revision, so no change made meanwhile
	// on another node is missed.
	str, err := js.Stream(ctx, "KV_"+Bucket)
	if err != nil {
		return nil, fmt.Errorf("actors bucket %s: %w", Bucket, err)
	}
	last := str.CachedInfo().State.LastSeq
	var unreadable error
	if last > 0 {
		prefix := "$KV." + Bucket + "."
		cfg := jetstream.OrderedConsumerConfig{FilterSubjects: []string{prefix + ">"}, DeliverPolicy: jetstream.DeliverLastPerSubjectPolicy}
		err = jsread.Read(ctx, js, "KV_"+Bucket, cfg, jsread.Options{StopAt: last}, func(m jetstream.Msg, meta *jetstream.MsgMetadata) error {
			switch m.Headers().Get("KV-Operation") {
			case "DEL", "PURGE":
				return nil // revoked
			}
			key := strings.TrimPrefix(m.Subject(), prefix)
			var a Actor
			if err := json.Unmarshal(m.Data(), &a); err != nil {
				return fmt.Errorf("actors bucket %s: decode actor %s (sequence %d): %w", Bucket, key, meta.Sequence.Stream, err)
			}
			s.byKey[a.PublicKey], s.byNm[a.Name] = a, a
			return nil
		})
		if errors.Is(err, jsread.ErrUnreadable) {
			unreadable = fmt.Errorf("actors bucket %s: %w", Bucket, err)
		} else if err != nil {
			return nil, fmt.Errorf("load actors bucket %s: %w", Bucket, err)
		}
	}
	// The watch outlives Open: it runs under the store's own context,
	// which Close cancels.
	life, stop := context.WithCancel(context.WithoutCancel(ctx))
	if s.w, err = kv.WatchAll(life, jetstream.ResumeFromRevision(last+1)); err != nil {
		stop()
		return nil, fmt.Errorf("watch actors bucket %s: %w", Bucket, err)
	}
	s.stop = stop
	go s.follow()
	return s, unreadable
}

// follow applies the changes made anywhere in the cluster until Close.
func (s *Store) follow() {
	defer close(s.end)
	for e := range s.w.Updates() {
		if e == nil {
			continue
		}
		if err := s.apply(e); err != nil {
			s.o.Logger.Error("actors bucket: entry ignored", "err", err)
		}
	}
}

// apply puts one bucket entry into the in-memory copy.
func (s *Store) apply(e jetstream.KeyValueEntry) error {
	if e.Operation() != jetstream.KeyValuePut {
		s.mu.Lock()
		a, ok := s.byNm[e.Key()]
		if ok {
			delete(s.byNm, a.Name)
			delete(s.byKey, a.PublicKey)
		}
		s.mu.Unlock()
		if ok && s.o.Removed != nil {
			s.o.Removed(a)
		}
		return nil
	}
	var a Actor
	if err := json.Unmarshal(e.Value(), &a); err != nil {
		return fmt.Errorf("decode actor %s: %w", e.Key(), err)
	}
	s.mu.Lock()
	if old, ok := s.byNm[a.Name]; ok && old.PublicKey != a.PublicKey {
		delete(s.byKey, old.PublicKey)
	}
	s.byKey[a.PublicKey], s.byNm[a.Name] = a, a
	s.mu.Unlock()
	return nil
}

// Close stops following the bucket.
func (s *Store) Close() {
	if s.w != nil {
		s.stop()
		_ = s.w.Stop()
		select {
		case <-s.end:
		case <-time.After(closeWait):
			s.o.Logger.Warn("actors bucket: the watch did not end in time", "waited", closeWait)
		}
	}
}

// closeWait bounds how long Close waits for the watch loop to end.
const closeWait = 5 * time.Second

// ValidateNew checks a name and key for a new actor.
func ValidateNew(name, publicKey string) error {
	if !wire.ValidName(name) || reserved[name] {
		return fmt.Errorf("%w: %q must match [a-z][a-z0-9-]{0,62} and not be one of admin, hub, system", ErrInvalidName, name)
	}
	return validateKey(publicKey)
}

// validateKey checks an identity's public key.
func validateKey(publicKey string) error {
	if !nkeys.IsValidPublicUserKey(publicKey) {
		if strings.HasPrefix(publicKey, "S") {
			// Never echo what looks like a private seed back.
			return fmt.Errorf("%w: that is a private seed, not a public key: keep it secret and send the public key (starts with U)", ErrInvalidKey)
		}
		return fmt.Errorf("%w: %q is not an nkey user public key (starts with U)", ErrInvalidKey, publicKey)
	}
	return nil
}

// ValidateNewPeer checks a name and key for a new peer hub identity
// ("hub:<name>" in policies).
func ValidateNewPeer(name, publicKey string) error {
	if !wire.ValidName(name) {
		return fmt.Errorf("%w: peer hub %q must match [a-z][a-z0-9-]{0,62}", ErrInvalidName, name)
	}
	return validateKey(publicKey)
}

// Create adds an actor. The name and the key must both be new.
func (s *Store) Create(ctx context.Context, name, publicKey string) (Actor, error) {
	if err := ValidateNew(name, publicKey); err != nil {
		return Actor{}, err
	}
	return s.create(ctx, name, publicKey)
}

// CreatePeer adds the identity of a peer hub that takes datasets from this
// one: policies name it "hub:<name>", and it is kept (and found by ByKey,
// Get and Revoke) under its subject token, wire.PeerActor(name). A key is
// either an actor's or a peer's, never both.
func (s *Store) CreatePeer(ctx context.Context, name, publicKey string) (Actor, error) {
	if err := ValidateNewPeer(name, publicKey); err != nil {
		return Actor{}, err
	}
	return s.create(ctx, wire.PeerActor(name), publicKey)
}

func (s *Store) create(ctx context.Context, name, publicKey string) (Actor, error) {
	s.mu.RLock()
	_, nameTaken := s.byNm[name]
	_, keyTaken := s.byKey[publicKey]
	s.mu.RUnlock()
	if nameTaken {
		return Actor{}, fmt.Errorf("create actor %s: %w", name, ErrExists)
	}
	if keyTaken {
		return Actor{}, fmt.Errorf("create actor %s: %w: the key is another actor's", name, ErrExists)
	}
	a := Actor{Name: name, PublicKey: publicKey, CreatedAt: time.Now().UTC()}
	b, _ := json.Marshal(a)
	// Create fails if the key exists, so two admins cannot both create it.
	if _, err := s.kv.Create(ctx, name, b); err != nil {
		if errors.Is(err, jetstream.ErrKeyExists) {
			return Actor{}, fmt.Errorf("create actor %s: %w", name, ErrExists)
		}
		return Actor{}, fmt.Errorf("create actor %s: %w", name, err)
	}
	s.mu.Lock()
	s.byKey[publicKey], s.byNm[name] = a, a
	s.mu.Unlock()
	return a, nil
}

// Revoke removes an actor: its key is no longer accepted.
func (s *Store) Revoke(ctx context.Context, name string) (Actor, error) {
	s.mu.RLock()
	a, ok := s.byNm[name]
	s.mu.RUnlock()
	if !ok {
		return Actor{}, fmt.Errorf("revoke actor %s: %w", name, ErrNotFound)
	}
	if err := s.kv.Delete(ctx, name); err != nil {
		return Actor{}, fmt.Errorf("revoke actor %s: %w", name, err)
	}
	s.mu.Lock()
	delete(s.byNm, name)
	delete(s.byKey, a.PublicKey)
	s.mu.Unlock()
	return a, nil
}

// ByKey finds the actor with publicKey.
func (s *Store) ByKey(publicKey string) (Actor, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	a, ok := s.byKey[publicKey]
	return a, ok
}

// Get finds the actor called name.
func (s *Store) Get(name string) (Actor, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	a, ok := s.byNm[name]
	return a, ok
}

// List returns every actor, by name; peer hubs are not actors (see Peers).
func (s *Store) List() []Actor {
	return s.list(func(a Actor) bool { _, peer := wire.PeerName(a.Name); return !peer })
}

// Peers returns the identities of peer hubs, by subject token.
func (s *Store) Peers() []Actor {
	return s.list(func(a Actor) bool { _, peer := wire.PeerName(a.Name); return peer })
}

func (s *Store) list(keep func(Actor) bool) []Actor {
	s.mu.RLock()
	out := make([]Actor, 0, len(s.byNm))
	for _, a := range s.byNm {
		if keep(a) {
			out = append(out, a)
		}
	}
	s.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
