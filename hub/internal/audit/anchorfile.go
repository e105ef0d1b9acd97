package audit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// anchorTail is how much of the end of an anchor file or log is searched
// for the last anchor.
const anchorTail = 1 << 20

// ReadLastAnchor returns the last valid anchor in the file at path: the
// last line that [ParseAnchorLine] reads and whose signature is by the key
// pub (any valid signature when pub is ""), searching the file's last MiB.
// skipped counts the lines after it that did not qualify (a torn last line,
// or lines someone else wrote). It returns an error wrapping
// os.ErrNotExist for a missing file and [ErrNoAnchor] when no line
// qualifies.
func ReadLastAnchor(path, pub string) (a Anchor, skipped int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return a, 0, fmt.Errorf("audit anchor file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return a, 0, fmt.Errorf("audit anchor file: %w", err)
	}
	off := max(fi.Size()-anchorTail, 0)
	b, err := io.ReadAll(io.NewSectionReader(f, off, fi.Size()-off))
	if err != nil {
		return a, 0, fmt.Errorf("audit anchor file %s: %w", path, err)
	}
	lines := bytes.Split(b, []byte("\n"))
	for i := len(lines) - 1; i >= 0; i-- {
		line := strings.TrimSpace(string(lines[i]))
		if line == "" || (i == 0 && off > 0) {
			continue
		}
		if a, ok := ParseAnchorLine(line); ok && a.Check(pub) == nil {
			return a, skipped, nil
		}
		skipped++
	}
	return Anchor{}, skipped, fmt.Errorf("%w in %s", ErrNoAnchor, path)
}

// ParseAnchorLine reads an anchor from one line in any of the forms the hub
// writes it: a line of the anchor file (the anchor's JSON), or the hub's
// "audit anchor" log line, as text (anchor="{…}") or as JSON (the log
// record's "anchor" field), e.g. as journalctl prints it. The signature is
// not checked.
func ParseAnchorLine(line string) (Anchor, bool) {
	var a Anchor
	if i := strings.Index(line, "anchor="); i >= 0 && strings.HasPrefix(line[i+len("anchor="):], `"`) {
		rest := line[i+len("anchor="):]
		q, err := strconv.QuotedPrefix(rest)
		if err != nil {
			return a, false
		}
		s, err := strconv.Unquote(q)
		if err != nil {
			return a, false
		}
		line = s
	}
	if i := strings.IndexByte(line, '{'); i > 0 {
		line = line[i:] // a journal prefix before a JSON log record
	}
	var rec struct {
		Anchor string `json:"anchor"`
	}
	if json.Unmarshal([]byte(line), &rec) == nil && rec.Anchor != "" {
		line = rec.Anchor
	}
	if err := json.Unmarshal([]byte(line), &a); err != nil || a.Sig == "" || a.Key == "" {
		return Anchor{}, false
	}
	return a, true
}
