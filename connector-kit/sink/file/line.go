package file

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/jobtech-dev/datahub/connector-kit/plugin"
)

// appendLine appends r as one NDJSON line to buf.
func appendLine(buf []byte, r plugin.Record, dataOnly bool) ([]byte, error) {
	if dataOnly {
		var c bytes.Buffer
		if err := json.Compact(&c, r.Data); err != nil {
			return buf, plugin.Permanent(fmt.Errorf("%w: record %s: %v", ErrBadRecord, r.ID, err))
		}
		return append(append(buf, c.Bytes()...), '\n'), nil
	}
	// An encoder that leaves <, > and & alone, so data is not rewritten.
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(plugin.EnvelopeOf(r)); err != nil {
		return buf, plugin.Permanent(fmt.Errorf("%w: record %s: %v", ErrBadRecord, r.ID, err))
	}
	return append(buf, b.Bytes()...), nil // Encode ends the line
}
