// Package recordfile reads records from files the way every tool of the
// platform does: NDJSON (.ndjson, .jsonl: one record per line) or a JSON
// document (.json: one record, or an array of records); a name that says
// neither (standard input, a pipe) is told by its content, read once. Each
// record keeps its file and line so an error can say exactly where the bad
// record is.
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

// ReadFile calls fn for every record in path, in order. The name decides the
// format when it says one (.ndjson, .jsonl: NDJSON; .json: a document);
// otherwise — "-" for standard input, /dev/stdin, a named pipe, any other
// name — the content decides (see ReadStream), and the input is read once.
func ReadFile(path string, fn func(Record) error) error {
	if path == "-" {
		return ReadStream("stdin", os.Stdin, fn)
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
		return ReadStream(path, f, fn)
	}
	b, err := io.ReadAll(io.LimitReader(f, MaxLine+1))
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	if len(b) > MaxLine {
		return fmt.Errorf("%s: a JSON document larger than %d MiB; use NDJSON (.ndjson, one record per line) for big files", path, MaxLine>>20)
	}
	return ReadJSON(path, b, fn)
}

// ReadStream calls fn for every record of r, reading it once (a pipe cannot
// be read twice): NDJSON, or one JSON document (a record, or an array of
// records), told apart by the first non-blank line. A first line that is a
// whole JSON value, or looks like one record ({…}, even a broken one, which
// the validator then reports with its line), means NDJSON; a first line
// that starts an array, or only starts a value (a pretty-printed record),
// means one document, read whole (at most MaxLine bytes).
func ReadStream(name string, r io.Reader, fn func(Record) error) error {
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
	if t[0] == '[' || (!json.Valid(t) && !looksLikeRecord) {
		rest, err := io.ReadAll(io.LimitReader(br, int64(MaxLine+1-len(first))))
		if err != nil {
			return fmt.Errorf("read %s: %w", name, err)
		}
		if len(first)+len(rest) > MaxLine {
			return fmt.Errorf("%s: a JSON document larger than %d MiB; send NDJSON (one record per line) for big inputs", name, MaxLine>>20)
		}
		doc := append(append(bytes.Repeat([]byte("\n"), line-1), first...), rest...)
		return ReadJSON(name, doc, fn)
	}
	if err := fn(Record{File: name, Line: line, Data: bytes.Clone(t)}); err != nil {
		return err
	}
	return readNDJSON(name, br, line, fn)
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
	trimmed := bytes.TrimSpace(b)
	if len(trimmed) == 0 || trimmed[0] != '[' || !json.Valid(trimmed) {
		return fn(Record{File: name, Line: 1 + bytes.Count(b[:len(b)-len(bytes.TrimLeft(b, " \t\r\n"))], []byte("\n")), Data: trimmed})
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if _, err := dec.Token(); err != nil { // [
		return fmt.Errorf("%s: %w", name, err)
	}
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
		line := 1 + bytes.Count(b[:start], []byte("\n"))
		if err := fn(Record{File: name, Line: line, Data: []byte(raw)}); err != nil {
			return err
		}
	}
	return nil
}
