package audit_test

import (
	"testing"

	"github.com/jobtech-dev/datahub/hub/internal/audit"
)

func BenchmarkAppend(b *testing.B) {
	ts := startServer(b, b.TempDir())
	l := open(b, ts.js)
	e := audit.Entry{Kind: audit.KindAccessDenied, Actor: "jobboard-a", Subject: "dataset:jobads"}
	for b.Loop() {
		if _, err := l.Append(b.Context(), e); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerify10k verifies a chain of 10,000 entries per iteration.
func BenchmarkVerify10k(b *testing.B) {
	ts := startServer(b, b.TempDir())
	l := open(b, ts.js)
	appendN(b, l, 10_000)
	for b.Loop() {
		r, err := l.Verify(b.Context())
		if err != nil || !r.OK || r.Entries != 10_000 {
			b.Fatalf("verify: %+v %v", r, err)
		}
	}
}
