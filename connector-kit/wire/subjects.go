package wire

import (
	"fmt"
	"regexp"
	"strings"
)

// Subject prefixes. Actors are only ever granted IngestPrefix subjects for
// publishing; the others belong to the hub and are unreachable by actors.
const (
	// IngestPrefix starts the subjects actors send records to:
	// ingest.<dataset>.<actor>. The actor token is what identifies the
	// publisher: the server only lets an actor publish to its own token.
	IngestPrefix = "ingest"
	// DataPrefix starts the stored records' subjects: data.<dataset>.<key>.
	DataPrefix = "data"
	// DeadLetterPrefix starts rejected records' subjects: deadletter.<dataset>.
	DeadLetterPrefix = "deadletter"
)

// Subjects of the hub's services for actors. Each ends with the actor's name,
// which the server only lets that actor use, so the hub knows who asks.
const (
	// SubscribePrefix: hub.subscribe.<dataset>.<actor> asks the hub for a
	// subscription (a JetStream consumer delivering to the actor).
	SubscribePrefix = "hub.subscribe"
	// UnsubscribePrefix: hub.unsubscribe.<dataset>.<actor> ends one.
	UnsubscribePrefix = "hub.unsubscribe"
	// SchemaPrefix: hub.schema.<dataset>.<actor> returns the latest schema,
	// or the version a [SchemaRequest] asks for, or the list of versions.
	SchemaPrefix = "hub.schema"
	// RegisterSchemaPrefix: hub.schema.register.<dataset>.<actor> registers
	// a new version of the dataset's schema (see [RegisterSchemaRequest]),
	// for an actor the policies give register-schema on the dataset. It has
	// one token more than a schema request, so neither matches the other.
	RegisterSchemaPrefix = "hub.schema.register"
	// DeliverPrefix: deliver.<actor>.<dataset>.<consumer> carries records.
	DeliverPrefix = "deliver"
	// CatalogPrefix: hub.catalog.<actor> lists the hub's dataset names, which
	// are public (the web catalog shows them to anyone).
	CatalogPrefix = "hub.catalog"
	// KeysPrefix: hub.keys.<dataset>.<actor> answers who owns a key of a
	// dataset whose keys are owned (key_scope: dataset), and lets the
	// dataset's owner transfer one (see [KeyRequest]).
	KeysPrefix = "hub.keys"
)

// CatalogSubject is where actor asks for the dataset names.
func CatalogSubject(actor string) string { return CatalogPrefix + "." + actor }

// ServiceSubject is the subject of a hub service for dataset and actor.
func ServiceSubject(prefix, dataset, actor string) string {
	return prefix + "." + dataset + "." + actor
}

// ParseServiceSubject splits a service subject into dataset and actor.
func ParseServiceSubject(prefix, subj string) (dataset, actor string, err error) {
	rest, ok := strings.CutPrefix(subj, prefix+".")
	if !ok {
		return "", "", fmt.Errorf("subject %q: not under %s", subj, prefix)
	}
	dataset, actor, ok = strings.Cut(rest, ".")
	if !ok || dataset == "" || actor == "" || strings.Contains(actor, ".") {
		return "", "", fmt.Errorf("subject %q: want %s.<dataset>.<actor>", subj, prefix)
	}
	return dataset, actor, nil
}

// DeliverSubject is where consumer delivers dataset's records to actor.
func DeliverSubject(actor, dataset, consumer string) string {
	return DeliverPrefix + "." + actor + "." + dataset + "." + consumer
}

// ReplyAllowed reports whether the hub may answer actor on reply: only on
// the actor's own inbox. The server checks what a client publishes to, not
// the reply subject it names, so without this check an actor could make the
// hub publish anywhere.
func ReplyAllowed(actor, reply string) bool {
	return strings.HasPrefix(reply, InboxPrefix(actor)+".")
}

// MaxKeyToken bounds a record key's subject token: a longer subject would
// break the hub's connections.
const MaxKeyToken = 256

// InboxPrefix is the inbox prefix an actor must use for replies
// (nats.CustomInboxPrefix): the default _INBOX is closed to actors, so no
// actor can read another's replies.
func InboxPrefix(actor string) string { return "_INBOX_" + actor }

// IngestQueue is the queue group the hub's validators share, so each record
// is validated by exactly one node of a cluster.
const IngestQueue = "hub-ingest"

// AdminActor is the publisher recorded for records that an admin published
// through the hub's own API; no actor may take this name.
const AdminActor = "admin"

var nameRE = regexp.MustCompile(`^[a-z][a-z0-9-]{0,62}$`)

// ValidName reports whether s can name a dataset or an actor. Names are kept
// to one NATS token of plain characters so they are safe in subjects, stream
// names and file names alike.
func ValidName(s string) bool { return nameRE.MatchString(s) }

// IngestSubject is where actor publishes records for dataset.
func IngestSubject(dataset, actor string) string {
	return IngestPrefix + "." + dataset + "." + actor
}

// IngestWildcard matches every ingest subject; the hub's validators listen on it.
const IngestWildcard = IngestPrefix + ".*.*"

// ParseIngestSubject splits an ingest subject into dataset and actor. The
// hub node an actor is connected to receives its records on
// ingest.<dataset>.<actor>.<node> (its server maps the subject the actor
// publishes to, so each record is validated on that node); the node token
// is accepted and dropped.
func ParseIngestSubject(subj string) (dataset, actor string, err error) {
	rest, ok := strings.CutPrefix(subj, IngestPrefix+".")
	if !ok {
		return "", "", fmt.Errorf("subject %q: not an ingest subject", subj)
	}
	dataset, actor, ok = strings.Cut(rest, ".")
	if ok {
		if a, node, hasNode := strings.Cut(actor, "."); hasNode && node != "" && !strings.Contains(node, ".") {
			actor = a
		}
	}
	if !ok || dataset == "" || actor == "" || strings.Contains(actor, ".") {
		return "", "", fmt.Errorf("subject %q: want %s.<dataset>.<actor>", subj, IngestPrefix)
	}
	return dataset, actor, nil
}

// ActorIngestSubject is the subject an actor published to, given the one a
// hub node names (in a permission violation, say): the node token the
// server added is dropped. Any other subject is returned as it is.
func ActorIngestSubject(subj string) string {
	if d, a, err := ParseIngestSubject(subj); err == nil {
		return IngestSubject(d, a)
	}
	return subj
}

// DataSubject is the subject a record with key is stored under in a dataset
// whose keys are shared by all publishers (key_scope: dataset); one subject
// per key is what lets JetStream hand out the latest record per key.
func DataSubject(dataset, key string) string {
	return DataPrefix + "." + dataset + "." + EncodeKey(key)
}

// ScopedDataSubject is the subject a record with key is stored under in a
// dataset whose keys are scoped by publisher (key_scope: publisher):
// data.<dataset>.<key>.<origin>.<publisher>. Each publisher of each hub has
// its own subject per key, so its latest record per key is its own and no
// other publisher's record or tombstone can replace it.
func ScopedDataSubject(dataset, key, origin, publisher string) string {
	return DataPrefix + "." + dataset + "." + EncodeKey(key) + "." + origin + "." + publisher
}

// DataFilter matches every stored record of dataset.
func DataFilter(dataset string) string { return DataPrefix + "." + dataset + ".>" }

// DeadLetterSubject is where records rejected for dataset are kept.
func DeadLetterSubject(dataset string) string { return DeadLetterPrefix + "." + dataset }

// StreamName is the JetStream stream holding dataset.
func StreamName(dataset string) string { return "DS_" + dataset }

// DeadLetterStream holds every rejected record of every dataset.
const DeadLetterStream = "DEADLETTER"

// EncodeKey turns a record key into a single valid NATS subject token. Plain
// keys (letters, digits, '-', '_') stay readable; every other byte becomes
// '~' followed by two hex digits, so the encoding is reversible and
// unambiguous.
func EncodeKey(key string) string {
	plain := true
	for i := 0; i < len(key); i++ {
		if !plainKeyByte(key[i]) {
			plain = false
			break
		}
	}
	if plain && key != "" {
		return key
	}
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(key) * 2)
	if key == "" {
		return "~"
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		if plainKeyByte(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('~')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&0xF])
	}
	return b.String()
}

// DecodeKey reverses EncodeKey.
func DecodeKey(tok string) (string, error) {
	if tok == "~" {
		return "", nil
	}
	if !strings.Contains(tok, "~") {
		return tok, nil
	}
	var b strings.Builder
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		if c != '~' {
			b.WriteByte(c)
			continue
		}
		if i+2 >= len(tok) {
			return "", fmt.Errorf("key token %q: truncated escape at byte %d", tok, i)
		}
		v, ok := unhex(tok[i+1], tok[i+2])
		if !ok {
			return "", fmt.Errorf("key token %q: bad escape at byte %d", tok, i)
		}
		b.WriteByte(v)
		i += 2
	}
	return b.String(), nil
}

func plainKeyByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

func unhex(a, b byte) (byte, bool) {
	h, ok1 := hexVal(a)
	l, ok2 := hexVal(b)
	return h<<4 | l, ok1 && ok2
}

func hexVal(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}
