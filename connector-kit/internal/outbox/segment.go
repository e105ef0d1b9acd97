package outbox

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

const segmentExt = ".seg"

// segment is one segment file. size is the number of durable bytes in it
// (guarded by Outbox.mu); records beyond it may be in the middle of a write.
type segment struct {
	first uint64
	path  string
	size  int64
}

func segmentName(first uint64) string {
	return fmt.Sprintf("%020d%s", first, segmentExt)
}

// listSegments returns the directory's segments, oldest first. Sizes are not
// filled in.
func listSegments(dir string) ([]*segment, error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("outbox: list %s: %w", dir, err)
	}
	var segs []*segment
	for _, de := range des {
		name := de.Name()
		if !strings.HasSuffix(name, segmentExt) || de.IsDir() {
			continue
		}
		first, err := strconv.ParseUint(strings.TrimSuffix(name, segmentExt), 10, 64)
		if err != nil || first == 0 || name != segmentName(first) {
			return nil, fmt.Errorf("outbox: unexpected segment file name %s: %w", filepath.Join(dir, name), ErrCorrupt)
		}
		segs = append(segs, &segment{first: first, path: filepath.Join(dir, name)})
	}
	slices.SortFunc(segs, func(a, b *segment) int {
		switch {
		case a.first < b.first:
			return -1
		case a.first > b.first:
			return 1
		}
		return 0
	})
	return segs, nil
}

// scanResult is what scanning one segment found.
type scanResult struct {
	sizes  []uint32 // frame size of each record, from the segment's first seq on
	valid  int64    // bytes covered by whole, checked records
	torn   int64    // bytes after valid that are a torn tail (only when tail)
	reason string   // why the tail is torn
}

// scanSegment reads and checks every record of seg. When tail is true (the
// last segment) a torn tail is reported in the result rather than as an
// error; anything else wrong is an error wrapping ErrCorrupt naming the file
// and offset.
func scanSegment(seg *segment, tail bool) (scanResult, error) {
	var res scanResult
	f, err := os.Open(seg.path)
	if err != nil {
		return res, fmt.Errorf("outbox: open segment: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return res, fmt.Errorf("outbox: stat segment: %w", err)
	}
	size := st.Size()
	br := bufio.NewReaderSize(f, 1<<20)
	var (
		off     int64
		hdr     [frameHeaderSize]byte
		payload []byte
		seq     = seg.first
	)
	corrupt := func(reason string) (scanResult, error) {
		return res, fmt.Errorf("outbox: segment %s offset %d: %s: %w", seg.path, off, reason, ErrCorrupt)
	}
	// torn ends the scan at off if the tail may be cut: only in the last
	// segment, and only if no whole record follows (a crash tears the end of
	// the last write, it does not leave good records after bad ones).
	torn := func(reason string) (scanResult, error) {
		if !tail {
			return corrupt(reason)
		}
		at, found, err := findRecord(f, off+1, size, seq)
		if err != nil {
			return res, fmt.Errorf("outbox: read segment %s: %w", seg.path, err)
		}
		if found && at < 0 {
			return corrupt(fmt.Sprintf("%s, followed by %d bytes", reason, size-off))
		}
		if found {
			return corrupt(fmt.Sprintf("%s, but a whole record follows at offset %d", reason, at))
		}
		res.valid, res.torn, res.reason = off, size-off, reason
		return res, nil
	}
	for off < size {
		rem := size - off
		if rem < frameHeaderSize {
			return torn("partial record header")
		}
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			return res, fmt.Errorf("outbox: read segment %s: %w", seg.path, err)
		}
		plen := int64(binary.LittleEndian.Uint32(hdr[0:4]))
		sum := binary.LittleEndian.Uint32(hdr[4:8])
		if plen < minPayloadSize || plen > maxPayloadSize {
			return torn(fmt.Sprintf("implausible record length %d", plen))
		}
		if frameHeaderSize+plen > rem {
			return torn("partial record")
		}
		payload = slices.Grow(payload[:0], int(plen))[:plen]
		if _, err := io.ReadFull(br, payload); err != nil {
			return res, fmt.Errorf("outbox: read segment %s: %w", seg.path, err)
		}
		if checksum(payload) != sum {
			return torn("checksum mismatch")
		}
		got, _, _, _, err := parsePayload(payload)
		if err != nil {
			return corrupt(err.Error())
		}
		if got != seq {
			return corrupt(fmt.Sprintf("sequence number %d, want %d", got, seq))
		}
		res.sizes = append(res.sizes, uint32(frameHeaderSize+plen))
		off += frameHeaderSize + plen
		seq++
	}
	res.valid = off
	return res, nil
}

// maxTornScan bounds the bytes after a damaged record that findRecord
// searches; a longer remainder is not a torn tail.
const maxTornScan = 256 << 20

// findRecord searches f's bytes in [from, size) for a whole, checked record
// with a sequence number of at least seq, and returns its offset (-1 when
// the remainder is too long to be a torn tail).
func findRecord(f *os.File, from, size int64, seq uint64) (int64, bool, error) {
	n := size - from
	if n <= 0 {
		return 0, false, nil
	}
	if n > maxTornScan {
		return -1, true, nil
	}
	buf := make([]byte, n)
	if _, err := f.ReadAt(buf, from); err != nil && !errors.Is(err, io.EOF) {
		return 0, false, err
	}
	for i := 0; i+frameHeaderSize+minPayloadSize <= len(buf); i++ {
		plen := int(binary.LittleEndian.Uint32(buf[i:]))
		if plen < minPayloadSize || plen > len(buf)-i-frameHeaderSize {
			continue
		}
		p := buf[i+frameHeaderSize : i+frameHeaderSize+plen]
		if checksum(p) != binary.LittleEndian.Uint32(buf[i+4:]) {
			continue
		}
		if got, _, _, _, err := parsePayload(p); err == nil && got >= seq {
			return from + int64(i), true, nil
		}
	}
	return 0, false, nil
}
