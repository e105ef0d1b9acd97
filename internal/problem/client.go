package problem

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
)

// Decode reads a failed response's body and returns it as an error: the
// *Problem when the body is a problem document, otherwise an error naming
// the status and the start of the body. Both CLIs read every error this
// way, so a refusal prints the same from the hub and from a sidecar.
func Decode(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if ct == ContentType || ct == "application/json" {
		var p Problem
		if json.Unmarshal(b, &p) == nil && p.Title != "" && p.Status != 0 {
			return &p
		}
	}
	snippet := strings.TrimSpace(string(b))
	if len(snippet) > 200 {
		snippet = snippet[:200] + "…"
	}
	return fmt.Errorf("%s answered %s: %q", resp.Request.URL.Redacted(), resp.Status, snippet)
}

// IsProblem reports whether the response carries a problem document.
func IsProblem(resp *http.Response) bool {
	ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	return ct == ContentType
}
