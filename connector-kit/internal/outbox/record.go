package outbox

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
)

// Entry is one record handed to the outbox.
type Entry struct {
	// Dataset names the dataset the record is published to.
	Dataset string
	// ID is the record id, assigned by the caller and stable across retries,
	// so that the hub can drop the duplicates at-least-once delivery makes.
	ID string
	// Data is the record itself.
	Data []byte
}

// Item is an [Entry] read back by [Outbox.Next], with its sequence number.
type Item struct {
	Seq uint64
	Entry
}

// Frame and payload layout; see the package documentation.
const (
	frameHeaderSize = 8
	payloadVersion  = 1
	// minPayloadSize is version, seq and two empty uvarint lengths.
	minPayloadSize = 1 + 8 + 1 + 1
	// maxPayloadSize is the format's limit; a larger length field is garbage.
	maxPayloadSize = 1 << 30
)

// errBadPayload marks a payload whose checksum matched but whose structure
// does not decode; callers wrap it with ErrCorrupt and a location.
var errBadPayload = errors.New("malformed payload")

func checksum(b []byte) uint32 {
	return crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli))
}

func uvarintLen(x uint64) int {
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}

// payloadSize is the encoded size of e's payload.
func payloadSize(e Entry) int {
	return 1 + 8 +
		uvarintLen(uint64(len(e.Dataset))) + len(e.Dataset) +
		uvarintLen(uint64(len(e.ID))) + len(e.ID) +
		len(e.Data)
}

// appendFrame appends the framed record (header and payload) to dst.
func appendFrame(dst []byte, seq uint64, e Entry, plen int) []byte {
	start := len(dst)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(plen))
	dst = append(dst, 0, 0, 0, 0)
	p := len(dst)
	dst = append(dst, payloadVersion)
	dst = binary.LittleEndian.AppendUint64(dst, seq)
	dst = binary.AppendUvarint(dst, uint64(len(e.Dataset)))
	dst = append(dst, e.Dataset...)
	dst = binary.AppendUvarint(dst, uint64(len(e.ID)))
	dst = append(dst, e.ID...)
	dst = append(dst, e.Data...)
	binary.LittleEndian.PutUint32(dst[start+4:], checksum(dst[p:]))
	return dst
}

// parsePayload checks a payload's structure and returns its sequence number
// and the offsets of its fields. It does not copy.
func parsePayload(p []byte) (seq uint64, ds, id, data []byte, err error) {
	if len(p) < minPayloadSize || p[0] != payloadVersion {
		return 0, nil, nil, nil, errBadPayload
	}
	seq = binary.LittleEndian.Uint64(p[1:9])
	rest := p[9:]
	field := func() ([]byte, bool) {
		n, k := binary.Uvarint(rest)
		if k <= 0 || n > uint64(len(rest)-k) {
			return nil, false
		}
		f := rest[k : k+int(n)]
		rest = rest[k+int(n):]
		return f, true
	}
	var ok bool
	if ds, ok = field(); !ok {
		return 0, nil, nil, nil, errBadPayload
	}
	if id, ok = field(); !ok {
		return 0, nil, nil, nil, errBadPayload
	}
	return seq, ds, id, rest, nil
}

// decodePayload returns the entry in p, copied out of p.
func decodePayload(p []byte) (uint64, Entry, error) {
	seq, ds, id, data, err := parsePayload(p)
	if err != nil {
		return 0, Entry{}, err
	}
	e := Entry{Dataset: string(ds), ID: string(id), Data: make([]byte, len(data))}
	copy(e.Data, data)
	return seq, e, nil
}
