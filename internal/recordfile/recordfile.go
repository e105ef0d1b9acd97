// Package recordfile reads records from files the way every tool of the
// platform does: NDJSON (.ndjson, .jsonl: one record per line) or a JSON
// document (.json: one record, or an array of records); a name that says
// neither (standard input, a pipe) is told by its content, read once. Each
// record keeps its file and line so an error can say exactly where the bad
// record is.
//
// A JSON document can also be a map of records, the shape JobTech publishes
// its taxonomy in ({"vrDq_rUY_7PX": {"label": …, "type": "region"}, …}):
// with [Options.MapKey] set, an object whose member values are all objects
// is read as one record per member, the member's name put in the record
// under MapKey.
package recordfile

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Record is one record read from a file.
type Record struct {
	File string
	Line int
	Data []byte
}

// Where names the record's place, file:line.
func (r Record) Where() string { return fmt.Sprintf("%s:%d", r.File, r.Line) }

// MaxLine bounds one NDJSON line.
const MaxLine = 64 << 20

// IsNDJSON reports whether path holds one record per line.
func IsNDJSON(path string) bool {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".ndjson", ".jsonl":
		return true
	}
	return false
}

// IsJSON reports whether path's name says it holds one JSON document.
func IsJSON(path string) bool { return strings.ToLower(filepath.Ext(path)) == ".json" }

// Options change how records are read. The zero value reads NDJSON, a
// record or an array of records.
type Options struct {
	// MapKey reads a JSON document that is an object whose member values
	// are all objects as a map of records: each member is one record (in
	// file order, at its own line), with the member's name as the value of
	// its field MapKey — put first, unless the record already has that
	// field with that value; another value there is an error naming the
	// member. Any other document, and NDJSON, is read as without it.
	MapKey string
}

// ReadFile calls fn for every record in path, in order. The name decides the
// format when it says one (.ndjson, .jsonl: NDJSON; .json: a document);
// otherwise — "-" for standard input, /dev/stdin, a named pipe, any other
// name — the content decides (see ReadStream), and the input is read once.
func ReadFile(path string, fn func(Record) error) error {
	return ReadFileWith(path, Options{}, fn)
}

// ReadFileWith is [ReadFile] with options.
func ReadFileWith(path string, o Options, fn func(Record) error) error {
	if path == "-" {
		return ReadStreamWith("stdin", os.Stdin, o, fn)
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open records: %w", err)
	}
	defer f.Close()
	switch {
	case IsNDJSON(path):
		return ReadNDJSON(path, f, fn)
	case !IsJSON(path):
		return ReadStreamWith(path, f, o, fn)
	}
	b, err := io.ReadAll(io.LimitReader(f, MaxLine+1))
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	if len(b) > MaxLine {
		return fmt.Errorf("%s: a JSON document larger than %d MiB; use NDJSON (.ndjson, one record per line) for big files", path, MaxLine>>20)
	}
	return readJSON(path, b, o, fn)
}

// ReadStream calls fn for every record of r, reading it once (a pipe cannot
// be read twice): NDJSON, or one JSON document (a record, or an array of
// records), told apart by the first non-blank line. A first line that is a
// whole JSON value, or looks like one record ({…}, even a broken one, which
// the validator then reports with its line), means NDJSON; a first line
// that starts an array, or only starts a value (a pretty-printed record),
// means one document, read whole (at most MaxLine bytes).
func ReadStream(name string, r io.Reader, fn func(Record) error) error {
	return ReadStreamWith(name, r, Options{}, fn)
}

// ReadStreamWith is [ReadStream] with options.
func ReadStreamWith(name string, r io.Reader, o Options, fn func(Record) error) error {
	br := bufio.NewReaderSize(r, 64<<10)
	line := 0
	var first []byte
	for {
		l, err := readFirstLine(br)
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("%s:%d: %w", name, line+1, err)
		}
		line++
		if t := bytes.TrimSpace(l); len(t) > 0 {
			first = l
			break
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
	}
	t := bytes.TrimSpace(first)
	looksLikeRecord := t[0] == '{' && t[len(t)-1] == '}'
	if o.MapKey != "" && IsMap(t) {
		// A one-line map of records, or NDJSON whose first record looks
		// like one: a map only if nothing follows.
		skipped, err := skipBlank(br)
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("read %s: %w", name, err)
		}
		if errors.Is(err, io.EOF) {
			return readJSON(name, append(bytes.Repeat([]byte("\n"), line-1), first...), o, fn)
		}
		if err := fn(Record{File: name, Line: line, Data: bytes.Clone(t)}); err != nil {
			return err
		}
		return readNDJSON(name, br, line+skipped, fn)
	}
	if t[0] == '[' || (!json.Valid(t) && !looksLikeRecord) {
		rest, err := io.ReadAll(io.LimitReader(br, int64(MaxLine+1-len(first))))
		if err != nil {
			return fmt.Errorf("read %s: %w", name, err)
		}
		if len(first)+len(rest) > MaxLine {
			return fmt.Errorf("%s: a JSON document larger than %d MiB; send NDJSON (one record per line) for big inputs", name, MaxLine>>20)
		}
		doc := append(append(bytes.Repeat([]byte("\n"), line-1), first...), rest...)
		return readJSON(name, doc, o, fn)
	}
	if err := fn(Record{File: name, Line: line, Data: bytes.Clone(t)}); err != nil {
		return err
	}
	return readNDJSON(name, br, line, fn)
}

// skipBlank consumes white space, returning how many line ends it passed;
// io.EOF when nothing else follows.
func skipBlank(br *bufio.Reader) (int, error) {
	n := 0
	for {
		c, err := br.ReadByte()
		if err != nil {
			return n, err
		}
		switch c {
		case '\n':
			n++
		case ' ', '\t', '\r':
		default:
			return n, br.UnreadByte()
		}
	}
}

// readFirstLine reads one line of at most MaxLine bytes.
func readFirstLine(br *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		frag, err := br.ReadSlice('\n')
		line = append(line, frag...)
		if len(line) > MaxLine {
			return nil, fmt.Errorf("line longer than %d MiB", MaxLine>>20)
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			return line, err
		}
	}
}

// ReadNDJSON calls fn for each non-blank line of r.
func ReadNDJSON(name string, r io.Reader, fn func(Record) error) error {
	return readNDJSON(name, r, 0, fn)
}

// readNDJSON is ReadNDJSON for input whose first line is line+1.
func readNDJSON(name string, r io.Reader, line int, fn func(Record) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), MaxLine)
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		if err := fn(Record{File: name, Line: line, Data: bytes.Clone(b)}); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return fmt.Errorf("%s:%d: line longer than %d MiB", name, line+1, MaxLine>>20)
		}
		return fmt.Errorf("%s:%d: %w", name, line+1, err)
	}
	return nil
}

// ReadJSON calls fn for the document in b, or for each element when it is an
// array. A document that is not valid JSON is passed on whole, so the
// validator reports where it breaks.
func ReadJSON(name string, b []byte, fn func(Record) error) error {
	return readJSON(name, b, Options{}, fn)
}

// readJSON is ReadJSON with options.
func readJSON(name string, b []byte, o Options, fn func(Record) error) error {
	trimmed := bytes.TrimSpace(b)
	if o.MapKey != "" && len(trimmed) > 0 && trimmed[0] == '{' {
		if members, ok := mapMembers(b); ok {
			return readMap(name, b, members, o.MapKey, fn)
		}
	}
	if len(trimmed) == 0 || trimmed[0] != '[' || !json.Valid(trimmed) {
		return fn(Record{File: name, Line: 1 + bytes.Count(b[:len(b)-len(bytes.TrimLeft(b, " \t\r\n"))], []byte("\n")), Data: trimmed})
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if _, err := dec.Token(); err != nil { // [
		return fmt.Errorf("%s: %w", name, err)
	}
	lines := lineCounter{b: b, line: 1}
	for dec.More() {
		var raw json.RawMessage
		off := dec.InputOffset()
		if err := dec.Decode(&raw); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		// The element starts after any separator and space past off.
		start := int(off)
		for start < len(b) && (b[start] == ',' || b[start] == ' ' || b[start] == '\n' || b[start] == '\r' || b[start] == '\t') {
			start++
		}
		if err := fn(Record{File: name, Line: lines.at(start), Data: []byte(raw)}); err != nil {
			return err
		}
	}
	return nil
}

// member is one member of a map of records.
type member struct {
	name string
	line int
	raw  json.RawMessage
}

// mapMembers returns the members of b, a JSON object, in order, when every
// member value is an object (a map of records); ok is false for anything
// else, an empty object included.
func mapMembers(b []byte) (members []member, ok bool) {
	if !json.Valid(b) {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, false
	}
	lines := lineCounter{b: b, line: 1}
	for dec.More() {
		start := skipSpace(b, int(dec.InputOffset()))
		tok, err := dec.Token()
		if err != nil {
			return nil, false
		}
		name, _ := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil || len(raw) == 0 || raw[0] != '{' {
			return nil, false
		}
		members = append(members, member{name: name, line: lines.at(start), raw: raw})
	}
	return members, len(members) > 0
}

// lineCounter tells the line of offsets into b, given in increasing order,
// counting each byte once.
type lineCounter struct {
	b    []byte
	off  int
	line int
}

func (c *lineCounter) at(off int) int {
	c.line += bytes.Count(c.b[c.off:off], []byte("\n"))
	c.off = off
	return c.line
}

// skipSpace returns the offset of the first byte at or after i that is
// neither a separator nor space.
func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ',' || b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t') {
		i++
	}
	return i
}

// IsMap reports whether a JSON document is a map of records: an object
// whose member values are all objects (see [Options.MapKey]). The CLIs use
// it to suggest --map-key when such a document is refused as one record.
func IsMap(b []byte) bool {
	_, ok := mapMembers(b)
	return ok
}

// readMap calls fn with one record per member, its name under key.
func readMap(name string, b []byte, members []member, key string, fn func(Record) error) error {
	for _, m := range members {
		data, err := withField(m.raw, key, m.name)
		if err != nil {
			return fmt.Errorf("%s:%d: %w", name, m.line, err)
		}
		if err := fn(Record{File: name, Line: m.line, Data: data}); err != nil {
			return err
		}
	}
	return nil
}

// withField returns the object raw with field set to value, put first; raw
// is returned as it is when it already has field with that value.
func withField(raw []byte, field, value string) ([]byte, error) {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(raw, &members); err != nil {
		return nil, fmt.Errorf("member %q: %w", value, err)
	}
	if have, ok := members[field]; ok {
		var s string
		if json.Unmarshal(have, &s) == nil && s == value {
			return raw, nil
		}
		return nil, fmt.Errorf("member %q has %q: %s, not its name (read as a map of records, its %s is the member's name)", value, field, have, field)
	}
	inner := bytes.TrimSpace(raw[1 : len(raw)-1])
	out := make([]byte, 0, len(raw)+len(field)+len(value)+8)
	out = append(out, '{')
	out = appendJSONString(out, field)
	out = append(out, ':')
	out = appendJSONString(out, value)
	if len(inner) > 0 {
		out = append(out, ',')
		out = append(out, inner...)
	}
	return append(out, '}'), nil
}

// appendJSONString appends s as a JSON string (without escaping HTML).
func appendJSONString(dst []byte, s string) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return append(dst, bytes.TrimRight(buf.Bytes(), "\n")...)
}
