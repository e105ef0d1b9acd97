package sidecar

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/jobtech-dev/datahub/internal/problem"
)

// guard refuses, before anything is read, every request without the API
// token when one is set; /healthz stays open for probes. The token is
// compared in constant time (over SHA-256 digests, so its length does not
// leak either).
func (s *Sidecar) guard(next http.Handler) http.Handler {
	if s.token == "" {
		return next
	}
	want := sha256.Sum256([]byte(s.token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			next.ServeHTTP(w, r)
			return
		}
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			got = r.Header.Get("api-key") // what JobStream clients send
		}
		sum := sha256.Sum256([]byte(got))
		if got == "" || subtle.ConstantTimeCompare(sum[:], want[:]) != 1 {
			problem.Write(w, r, problem.New(problem.CodeUnauthorized, "this connector's local API needs its API token: Authorization: Bearer <token>"))
			return
		}
		next.ServeHTTP(w, r)
	})
}
