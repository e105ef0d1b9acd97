package outbox

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Report is what [Check] found in an outbox directory.
type Report struct {
	Dir string
	// Floor is the acked floor: records at or below it are forwarded.
	// FloorDamaged is true when the floor file did not check out; Floor is
	// then 0 and every intact record counts as waiting (a repair resends
	// them, and the hub stores each once by its id).
	Floor        uint64
	FloorDamaged bool
	// Segments counts the segment files.
	Segments int
	// Intact counts the whole, checked records above the floor: what a
	// repair keeps.
	Intact int
	// Damage lists the spans that do not decode as records, in file order.
	Damage []Damage
	// TornTail is the end of the last segment cut off by a crash during a
	// write, which Open removes by itself; nil when there is none.
	TornTail *Damage
	// Preallocated counts the zero bytes after the last record of the last
	// segment: the space a running outbox keeps ahead of its records, left
	// by a kill or a crash. Nothing was in it; Open cuts it by itself.
	Preallocated int64
	// Problems are other findings: unexpected files, records missing
	// between segments.
	Problems []string

	frames []frameRef // the intact frames above the floor, in order
}

// Damaged reports whether the outbox needs a repair before it can open.
func (r *Report) Damaged() bool {
	return len(r.Damage) > 0 || r.FloorDamaged || len(r.Problems) > 0
}

// Damage is a span of a segment file that does not decode as records.
type Damage struct {
	File   string
	Offset int64
	Length int64
	Reason string
	// FirstSeq and LastSeq bound the sequence numbers of the records lost
	// in the span, as the records around it tell; LastSeq is 0 when
	// nothing after the span tells (a tail), and FirstSeq is 0 when the
	// span held no record (garbage between two whole records).
	FirstSeq, LastSeq uint64
	// Acked is true when every record lost in the span had been forwarded
	// already (at or below the acked floor): nothing waiting was lost.
	Acked bool
	// Readable lists what could still be read of the lost records: a
	// record whose data is damaged but whose header survived still names
	// its dataset and id. Unverified: its checksum failed or it is cut.
	Readable []Lost
}

// Lost is what is known of one lost record.
type Lost struct {
	Seq     uint64
	Dataset string
	ID      string
	// Have and Want are the bytes of the frame on disk and its full size.
	Have, Want int64
}

func (l Lost) String() string {
	return fmt.Sprintf("record %d (dataset %s, id %s; %d of %d bytes)", l.Seq, l.Dataset, l.ID, l.Have, l.Want)
}

// Lost describes the records lost in the span for people.
func (d Damage) Lost() string {
	var b strings.Builder
	switch {
	case d.FirstSeq == 0:
		b.WriteString("no record lost")
	case d.LastSeq == 0:
		fmt.Fprintf(&b, "records from %d on lost", d.FirstSeq)
	case d.FirstSeq == d.LastSeq:
		fmt.Fprintf(&b, "record %d lost", d.FirstSeq)
	default:
		fmt.Fprintf(&b, "records %d to %d lost", d.FirstSeq, d.LastSeq)
	}
	if d.Acked && d.FirstSeq != 0 {
		b.WriteString(" (already forwarded)")
	}
	if len(d.Readable) > 0 {
		var ids []string
		for _, l := range d.Readable {
			ids = append(ids, l.String())
		}
		b.WriteString("; readable: " + strings.Join(ids, ", "))
	} else if d.FirstSeq != 0 && !d.Acked {
		if d.FirstSeq == d.LastSeq {
			b.WriteString("; its id cannot be read")
		} else {
			b.WriteString("; their ids cannot be read")
		}
	}
	return b.String()
}

// frameRef is one whole, checked record in a segment file.
type frameRef struct {
	seg  string // path
	off  int64
	size int64
	seq  uint64
}

// Check reads every segment of the outbox in dir and reports every damaged
// span, resynchronising at the next whole record after each (the CRC frames
// make a record found at any offset trustworthy). It changes nothing. It
// takes the directory's lock, so it returns an error wrapping [ErrLocked]
// while a connector has the outbox open.
func Check(dir string) (*Report, error) {
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	defer lock.Release()
	return check(dir)
}

func check(dir string) (*Report, error) {
	r := &Report{Dir: dir}
	floor, err := readFloor(dir)
	if errors.Is(err, ErrCorrupt) {
		r.FloorDamaged = true
	} else if err != nil {
		return nil, err
	}
	r.Floor = floor
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
			r.Problems = append(r.Problems, fmt.Sprintf("unexpected file %s: not a segment name", filepath.Join(dir, name)))
			continue
		}
		segs = append(segs, &segment{first: first, path: filepath.Join(dir, name)})
	}
	r.Segments = len(segs)
	next := uint64(0) // the sequence number the next segment should start at
	for i, seg := range segs {
		if next != 0 && seg.first != next {
			if seg.first > next {
				r.Problems = append(r.Problems, fmt.Sprintf("records %d to %d missing before %s (a segment file is gone)", next, seg.first-1, seg.path))
			} else {
				r.Problems = append(r.Problems, fmt.Sprintf("%s starts at %d, overlapping the segment before it (which ends at %d)", seg.path, seg.first, next-1))
			}
		}
		var following uint64 // first seq of the next segment, 0 if none
		if i+1 < len(segs) {
			following = segs[i+1].first
		}
		frames, damage, end, err := scanResync(seg, following)
		if err != nil {
			return nil, err
		}
		last := i == len(segs)-1
		for j, d := range damage {
			if d.FirstSeq != 0 && d.LastSeq != 0 && d.LastSeq <= r.Floor && !r.FloorDamaged {
				damage[j].Acked = true
			}
		}
		// A damaged end of the last segment is a torn tail: a crash
		// during a write. Open cuts it by itself.
		if n := len(damage); last && n > 0 && damage[n-1].Offset+damage[n-1].Length == fileSize(seg.path) && damage[n-1].LastSeq == 0 {
			t := damage[n-1]
			if zeroSpan(seg.path, t.Offset, t.Length) {
				// The space a running outbox keeps ahead of its
				// records (left by a kill): nothing was in it.
				r.Preallocated = t.Length
			} else {
				r.TornTail = &t
			}
			damage = damage[:n-1]
		}
		r.Damage = append(r.Damage, damage...)
		for _, f := range frames {
			if f.seq > r.Floor {
				r.frames = append(r.frames, f)
			}
		}
		next = end
	}
	r.Intact = len(r.frames)
	return r, nil
}

// zeroSpan reports whether the n bytes of the file at off are all zeros.
func zeroSpan(path string, off, n int64) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	return zeroFrom(f, off, n)
}

func fileSize(path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		return -1
	}
	return st.Size()
}

// scanResync reads every frame of seg. After a frame that does not check
// out, it searches for the next whole record and reports the bytes between
// as a damaged span. following is the first sequence number of the next
// segment (0 when seg is the last), which bounds what a damaged tail lost.
// It returns the intact frames, the damage and the sequence number after
// the last record of the segment.
func scanResync(seg *segment, following uint64) ([]frameRef, []Damage, uint64, error) {
	data, err := os.ReadFile(seg.path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, nil, 0, fmt.Errorf("outbox: read segment: %w", err)
	}
	var (
		frames []frameRef
		damage []Damage
		off    int64
		expect = seg.first
		size   = int64(len(data))
	)
	for off < size {
		seq, flen, reason := frameAt(data, off)
		if reason == "" && seq == expect {
			frames = append(frames, frameRef{seg: seg.path, off: off, size: flen, seq: seq})
			off += flen
			expect++
			continue
		}
		if reason == "" {
			reason = fmt.Sprintf("sequence number %d, want %d", seq, expect)
		}
		at, nseq, found := nextFrame(data, off+1, expect)
		end := size
		if found {
			end = at
		}
		d := Damage{File: seg.path, Offset: off, Length: end - off, Reason: reason}
		switch {
		case found && nseq > expect:
			d.FirstSeq, d.LastSeq = expect, nseq-1
		case found:
			// Bytes between whole records, no record lost.
		case following > expect:
			d.FirstSeq, d.LastSeq = expect, following-1
		default:
			d.FirstSeq = expect
		}
		d.Readable = readable(data[off:end], d.FirstSeq)
		damage = append(damage, d)
		off = end
		if found {
			expect = nseq
		} else if following > expect {
			expect = following
		}
	}
	return frames, damage, expect, nil
}

// frameAt checks the frame at off: it returns its sequence number and size,
// or why it does not check out.
func frameAt(data []byte, off int64) (uint64, int64, string) {
	rem := int64(len(data)) - off
	if rem < frameHeaderSize {
		return 0, 0, "partial record header"
	}
	plen := int64(binary.LittleEndian.Uint32(data[off:]))
	if plen < minPayloadSize || plen > maxPayloadSize {
		return 0, 0, fmt.Sprintf("implausible record length %d", plen)
	}
	if frameHeaderSize+plen > rem {
		return 0, 0, "partial record"
	}
	p := data[off+frameHeaderSize : off+frameHeaderSize+plen]
	if checksum(p) != binary.LittleEndian.Uint32(data[off+4:]) {
		return 0, 0, "checksum mismatch"
	}
	seq, _, _, _, err := parsePayload(p)
	if err != nil {
		return 0, 0, err.Error()
	}
	return seq, frameHeaderSize + plen, ""
}

// nextFrame finds the first whole record at or after from whose sequence
// number is at least min. Cheap tests (length, version, a plausible
// sequence number) come before the checksum, so random bytes are skipped
// quickly.
func nextFrame(data []byte, from int64, min uint64) (int64, uint64, bool) {
	n := int64(len(data))
	// A sequence number further than this from min cannot be in this file.
	span := uint64(n/(frameHeaderSize+minPayloadSize)) + 1
	for i := from; i+frameHeaderSize+minPayloadSize <= n; i++ {
		plen := int64(binary.LittleEndian.Uint32(data[i:]))
		if plen < minPayloadSize || plen > n-i-frameHeaderSize {
			continue
		}
		p := data[i+frameHeaderSize:]
		if p[0] != payloadVersion {
			continue
		}
		seq := binary.LittleEndian.Uint64(p[1:9])
		if seq < min || seq-min > span {
			continue
		}
		if s, _, reason := frameAt(data, i); reason == "" && s == seq {
			return i, seq, true
		}
	}
	return 0, 0, false
}

// readable returns what can still be read of the first record of a damaged
// span: its header, when the damage spared it.
func readable(span []byte, seq uint64) []Lost {
	if seq == 0 || len(span) < frameHeaderSize+minPayloadSize {
		return nil
	}
	plen := int64(binary.LittleEndian.Uint32(span))
	if plen < minPayloadSize || plen > maxPayloadSize {
		return nil
	}
	p := span[frameHeaderSize:]
	if int64(len(p)) > plen {
		p = p[:plen]
	}
	got, ds, id, _, err := parsePayload(p)
	if err != nil || got != seq || len(ds) == 0 || len(id) == 0 || !printable(ds) || !printable(id) {
		return nil
	}
	want := frameHeaderSize + plen
	return []Lost{{Seq: seq, Dataset: string(ds), ID: string(id), Have: min(int64(len(span)), want), Want: want}}
}

func printable(b []byte) bool {
	for _, c := range b {
		if c <= ' ' || c > '~' {
			return false
		}
	}
	return true
}
