package owners

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
)

// Bucket is the key-value bucket holding key owners.
const Bucket = "hub_key_owners"

// Errors returned by the store.
var (
	// ErrNotOwned: nobody owns the key.
	ErrNotOwned = errors.New("key has no owner")
	// ErrNotShared: the dataset's keys are scoped by publisher, so no key
	// has an owner to look up or transfer.
	ErrNotShared = errors.New("dataset's keys are scoped by publisher: each publisher's keys are its own")
	// ErrInvalid: a bad dataset, key or actor name.
	ErrInvalid = errors.New("invalid key ownership request")
	// ErrClosed: the store is closed.
	ErrClosed = errors.New("key owners closed")
)

// Owner is who owns a key: a publisher of an origin hub.
type Owner struct {
	Origin, Publisher string
}

// String renders an owner as "publisher@origin".
func (o Owner) String() string { return o.Publisher + "@" + o.Origin }

// Store is the set of key owners, read from memory and written through to
// the bucket. It is safe for concurrent use.
type Store struct {
	kv  jetstream.KeyValue
	log *slog.Logger

	mu       sync.RWMutex
	byKey    map[string]map[string]*Owner // dataset → key token → interned owner
	interned map[Owner]*Owner

	watcher jetstream.KeyWatcher
	done    chan struct{}
}

// Open opens (or creates) the bucket, loads every owner into memory and keeps
// the view current with a watch until Close. replicas is the bucket's
// replication (1 on a single node).
func Open(ctx context.Context, js jetstream.JetStream, replicas int, log *slog.Logger) (*Store, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if replicas < 1 {
		replicas = 1
	}
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      Bucket,
		Description: "owner (origin hub and publisher) of each record key of datasets with key_scope: dataset",
		History:     1,
		Storage:     jetstream.FileStorage,
		Replicas:    replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("open key owners bucket %s: %w", Bucket, err)
	}
	s := &Store{kv: kv, log: log.With("component", "owners"), byKey: map[string]map[string]*Owner{}, interned: map[Owner]*Owner{}, done: make(chan struct{})}
	w, err := kv.WatchAll(context.WithoutCancel(ctx))
	if err != nil {
		return nil, fmt.Errorf("watch key owners bucket %s: %w", Bucket, err)
	}
	s.watcher = w
	// The watch first hands out every current entry, then a nil marker.
	for loaded := false; !loaded; {
		select {
		case e, ok := <-w.Updates():
			if !ok {
				return nil, fmt.Errorf("watch key owners bucket %s: %w", Bucket, ErrClosed)
			}
			if e == nil {
				loaded = true
				continue
			}
			s.apply(e)
		case <-ctx.Done():
			_ = w.Stop()
			return nil, fmt.Errorf("load key owners from %s: %w", Bucket, ctx.Err())
		}
	}
	go s.follow()
	return s, nil
}

// follow applies the bucket's changes (claims and transfers made by any
// node) to the in-memory view.
func (s *Store) follow() {
	defer close(s.done)
	for e := range s.watcher.Updates() {
		if e != nil {
			s.apply(e)
		}
	}
}

// Close stops following the bucket.
func (s *Store) Close() {
	if s.watcher != nil {
		_ = s.watcher.Stop()
		<-s.done
	}
}

func (s *Store) apply(e jetstream.KeyValueEntry) {
	dataset, tok, ok := strings.Cut(e.Key(), ".")
	if strings.HasPrefix(e.Key(), markerPrefix) || !ok {
		return
	}
	if e.Operation() != jetstream.KeyValuePut {
		s.mu.Lock()
		delete(s.byKey[dataset], tok)
		s.mu.Unlock()
		return
	}
	var ko wire.KeyOwner
	if err := json.Unmarshal(e.Value(), &ko); err != nil || ko.Publisher == "" {
		s.log.Error("unreadable key owner entry: the key stays refused to everyone until transferred", "key", e.Key(), "err", err)
		ko = wire.KeyOwner{Origin: "?", Publisher: "?"}
	}
	s.set(dataset, tok, Owner{Origin: ko.Origin, Publisher: ko.Publisher})
}

// set records an owner in memory; owners are interned, so a million keys of
// one publisher cost a million map entries and one Owner.
func (s *Store) set(dataset, tok string, o Owner) *Owner {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.interned[o]
	if !ok {
		p = &Owner{Origin: o.Origin, Publisher: o.Publisher}
		s.interned[o] = p
	}
	m := s.byKey[dataset]
	if m == nil {
		m = map[string]*Owner{}
		s.byKey[dataset] = m
	}
	m[tok] = p
	return p
}

// keyToken is a record key as it appears in its bucket key: its subject
// token, with '~' (not allowed in bucket keys) as '=' (which the token never
// holds). A plain key is its own token, without a copy.
func keyToken(key string) string {
	return strings.ReplaceAll(wire.EncodeKey(key), "~", "=")
}

// bucketKey is the bucket key of a dataset's record key.
func bucketKey(dataset, key string) string { return dataset + "." + keyToken(key) }

// Lookup returns the owner of key of dataset as this node knows it, without
// a round trip; false when it knows none (Claim decides then).
func (s *Store) Lookup(dataset, key string) (Owner, bool) {
	tok := keyToken(key)
	s.mu.RLock()
	o, ok := s.byKey[dataset][tok]
	s.mu.RUnlock()
	if !ok {
		return Owner{}, false
	}
	return *o, true
}

// markerPrefix starts the bucket's own bookkeeping keys; dataset names
// start with a letter, so no record key can collide.
const markerPrefix = "_"

// Claim decides whether publisher of origin may write key of dataset: yes
// when it owns the key, or when nobody does and it is the first to claim it
// (atomically, with the bucket's Create). Otherwise it returns the owner and
// false. A known key costs a map lookup. An error means the outcome is
// unknown (the bucket could not be reached): retry.
func (s *Store) Claim(ctx context.Context, dataset, key, origin, publisher string) (Owner, bool, error) {
	me := Owner{Origin: origin, Publisher: publisher}
	if o, known := s.Lookup(dataset, key); known {
		return o, o == me, nil
	}
	tok := keyToken(key)
	k := dataset + "." + tok
	val, _ := json.Marshal(wire.KeyOwner{Dataset: dataset, Key: key, Origin: origin, Publisher: publisher, Since: time.Now().UTC(), By: "record"})
	_, err := s.kv.Create(ctx, k, val)
	if err == nil {
		s.set(dataset, tok, me)
		return me, true, nil
	}
	if !errors.Is(err, jetstream.ErrKeyExists) {
		return Owner{}, false, fmt.Errorf("claim key %q of %s: %w", key, dataset, err)
	}
	// Someone claimed it first (another record in flight, or another node).
	ko, err := s.get(ctx, k)
	if err != nil {
		return Owner{}, false, fmt.Errorf("claim key %q of %s: %w", key, dataset, err)
	}
	got := *s.set(dataset, tok, Owner{Origin: ko.Origin, Publisher: ko.Publisher})
	return got, got == me, nil
}

func (s *Store) get(ctx context.Context, k string) (wire.KeyOwner, error) {
	e, err := s.kv.Get(ctx, k)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return wire.KeyOwner{}, ErrNotOwned
	}
	if err != nil {
		return wire.KeyOwner{}, err
	}
	var ko wire.KeyOwner
	if err := json.Unmarshal(e.Value(), &ko); err != nil {
		return wire.KeyOwner{}, fmt.Errorf("decode owner of %s: %w", k, err)
	}
	return ko, nil
}

// Owner returns who owns key of dataset, read from the bucket; ErrNotOwned
// when nobody does.
func (s *Store) Owner(ctx context.Context, dataset, key string) (wire.KeyOwner, error) {
	if !wire.ValidName(dataset) {
		return wire.KeyOwner{}, fmt.Errorf("%w: dataset %q", ErrInvalid, dataset)
	}
	ko, err := s.get(ctx, bucketKey(dataset, key))
	if err != nil {
		return ko, fmt.Errorf("owner of key %q of %s: %w", key, dataset, err)
	}
	return ko, nil
}

// Transfer makes publisher of origin the owner of key of dataset, whoever
// owned it (or whether anyone did: an admin may assign a key before its
// first record). by names who asked, for the record. It returns the new
// owner and the previous one (nil if none).
func (s *Store) Transfer(ctx context.Context, dataset, key, origin, publisher, by string) (wire.KeyOwner, *wire.KeyOwner, error) {
	if !wire.ValidName(dataset) || !wire.ValidName(publisher) || !wire.ValidName(origin) {
		return wire.KeyOwner{}, nil, fmt.Errorf("%w: dataset %q, publisher %q and origin %q must be names", ErrInvalid, dataset, publisher, origin)
	}
	if len(wire.EncodeKey(key)) > wire.MaxKeyToken {
		return wire.KeyOwner{}, nil, fmt.Errorf("%w: key of %d bytes is longer than any record key", ErrInvalid, len(key))
	}
	k := bucketKey(dataset, key)
	for attempt := 0; ; attempt++ {
		next := wire.KeyOwner{Dataset: dataset, Key: key, Origin: origin, Publisher: publisher, Since: time.Now().UTC(), By: by}
		e, err := s.kv.Get(ctx, k)
		var prev *wire.KeyOwner
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
			val, _ := json.Marshal(next)
			_, err = s.kv.Create(ctx, k, val)
		case err != nil:
			return wire.KeyOwner{}, nil, fmt.Errorf("transfer key %q of %s: %w", key, dataset, err)
		default:
			var p wire.KeyOwner
			_ = json.Unmarshal(e.Value(), &p)
			prev = &p
			next.Previous = Owner{Origin: p.Origin, Publisher: p.Publisher}.String()
			val, _ := json.Marshal(next)
			// Compare-and-set: a claim or transfer in between is not lost.
			_, err = s.kv.Update(ctx, k, val, e.Revision())
		}
		if err == nil {
			s.set(dataset, keyToken(key), Owner{Origin: origin, Publisher: publisher})
			return next, prev, nil
		}
		if attempt >= 5 || !(errors.Is(err, jetstream.ErrKeyExists) || isWrongLastSequence(err)) {
			return wire.KeyOwner{}, nil, fmt.Errorf("transfer key %q of %s: %w", key, dataset, err)
		}
	}
}

// isWrongLastSequence reports a compare-and-set that lost a race.
func isWrongLastSequence(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence
}

// Seeded reports whether the owners of dataset's existing records were
// recorded (see Seed).
func (s *Store) seeded(ctx context.Context, dataset string) (bool, error) {
	_, err := s.kv.Get(ctx, markerPrefix+"seeded."+dataset)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return false, nil
	}
	return err == nil, err
}

// Seed records, once per dataset, the publisher of the latest record of
// every key already stored as its owner: records stored before the dataset's
// keys had owners keep their publisher, rather than going to whoever writes
// the key next. latest calls its function with the key, origin and publisher
// of the latest record of every key (tombstones included).
func (s *Store) Seed(ctx context.Context, dataset string, latest func(ctx context.Context, fn func(key, origin, publisher string) error) error) (int, error) {
	done, err := s.seeded(ctx, dataset)
	if err != nil || done {
		return 0, err
	}
	n := 0
	err = latest(ctx, func(key, origin, publisher string) error {
		if publisher == "" {
			return nil
		}
		if origin == "" {
			origin = "?"
		}
		tok := keyToken(key)
		val, _ := json.Marshal(wire.KeyOwner{Dataset: dataset, Key: key, Origin: origin, Publisher: publisher, Since: time.Now().UTC(), By: "record"})
		switch _, err := s.kv.Create(ctx, dataset+"."+tok, val); {
		case errors.Is(err, jetstream.ErrKeyExists):
			return nil // owned already: the watch has it
		case err != nil:
			return fmt.Errorf("seed owner of key %q of %s: %w", key, dataset, err)
		}
		s.set(dataset, tok, Owner{Origin: origin, Publisher: publisher})
		n++
		return nil
	})
	if err != nil {
		return n, err
	}
	if _, err := s.kv.Put(ctx, markerPrefix+"seeded."+dataset, []byte(time.Now().UTC().Format(time.RFC3339))); err != nil {
		return n, fmt.Errorf("seed owners of %s: %w", dataset, err)
	}
	return n, nil
}

// Forget removes every owner of dataset's keys, and the mark that its
// records' owners were recorded: its records are gone (the dataset was
// deleted), and a dataset declared later under the same name starts with
// no owners. It returns how many owners it removed.
func (s *Store) Forget(ctx context.Context, dataset string) (int, error) {
	lister, err := s.kv.ListKeysFiltered(ctx, dataset+".>")
	if err != nil {
		return 0, fmt.Errorf("forget owners of %s: %w", dataset, err)
	}
	var keys []string
	for k := range lister.Keys() {
		keys = append(keys, k)
	}
	n := 0
	for _, k := range keys {
		if err := s.kv.Purge(ctx, k); err != nil {
			return n, fmt.Errorf("forget owners of %s: %w", dataset, err)
		}
		n++
	}
	if err := s.kv.Purge(ctx, markerPrefix+"seeded."+dataset); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		return n, fmt.Errorf("forget owners of %s: %w", dataset, err)
	}
	s.mu.Lock()
	delete(s.byKey, dataset)
	s.mu.Unlock()
	return n, nil
}
