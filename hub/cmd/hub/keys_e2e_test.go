package main_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestKeyOwnerCLI: in a dataset with owned keys (taxonomy-concepts), the
// admin sees who owns a key and transfers it with `hub key`; the previous
// owner's records for it are refused from then on.
func TestKeyOwnerCLI(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	h := serve(t, data)
	common := []string{"--hub-url", h.httpURL, "--data", data}
	file := filepath.Join(t.TempDir(), "concept.json")
	if err := os.WriteFile(file, []byte(`{"id":"vrDq_rUY_7PX","label":"Kylteknik","type":"skill"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, errOut, code := run(t, nil, append([]string{"publish", "--dataset", "taxonomy-concepts", file}, common...)...); code != 0 {
		t.Fatalf("publish: exit %d\n%s%s", code, out, errOut)
	}
	out, errOut, code := run(t, nil, append([]string{"key", "owner", "vrDq_rUY_7PX", "--dataset", "taxonomy-concepts"}, common...)...)
	if code != 0 || !strings.Contains(out, "taxonomy-concepts/vrDq_rUY_7PX: owned by admin (origin hub)") {
		t.Fatalf("key owner: exit %d\n%s%s", code, out, errOut)
	}
	out, errOut, code = run(t, nil, append([]string{"key", "transfer", "vrDq_rUY_7PX", "--dataset", "taxonomy-concepts", "--to", "arbetsformedlingen"}, common...)...)
	if code != 0 || !strings.Contains(out, "owned by arbetsformedlingen (origin hub)") || !strings.Contains(out, "by admin, before: admin@hub") {
		t.Fatalf("key transfer: exit %d\n%s%s", code, out, errOut)
	}
	out, _, code = run(t, nil, append([]string{"publish", "--dataset", "taxonomy-concepts", file}, common...)...)
	if code != 1 || !strings.Contains(out, `key "vrDq_rUY_7PX" belongs to arbetsformedlingen@hub`) {
		t.Fatalf("publish after the transfer: exit %d\n%s", code, out)
	}
	_, errOut, code = run(t, nil, append([]string{"key", "owner", "x", "--dataset", "jobads"}, common...)...)
	if code == 0 || !strings.Contains(errOut, "key_scope") {
		t.Fatalf("key owner in a publisher-scoped dataset: exit %d\n%s", code, errOut)
	}
}
