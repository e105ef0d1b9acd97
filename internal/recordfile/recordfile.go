// Package recordfile reads records from files the way every tool of the
// platform does: NDJSON (.ndjson, .jsonl: one record per line) or a JSON
// document (.json: one record, or an array of records). Each record keeps its
// file and line so an error can say exactly where the bad record is.
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

// ReadFile calls fn for every record in path, in order. "-" reads NDJSON
// from standard input.
func ReadFile(path string, fn func(Record) error) error {
	if path == "-" {
		return ReadNDJSON("stdin", os.Stdin, fn)
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open records: %w", err)
	}
	defer f.Close()
	if IsNDJSON(path) {
		return ReadNDJSON(path, f, fn)
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

// ReadNDJSON calls fn for each non-blank line of r.
func ReadNDJSON(name string, r io.Reader, fn func(Record) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), MaxLine)
	line := 0
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
