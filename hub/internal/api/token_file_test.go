package api_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/hub/internal/hubtest"
)

// A hub whose admin token comes from admin_token_file (the same file on
// every node of a cluster) refuses to rotate it through the API, which
// would change one node's token only, and says what to do instead; the
// token keeps working.
func TestTokenFromAFileIsNotRotatedThroughTheAPI(t *testing.T) {
	t.Parallel()
	cfg := hubtest.Config(t.TempDir())
	cfg.AdminTokenFile = filepath.Join(t.TempDir(), "admin.token")
	const tok = "0123456789abcdef0123456789abcdef"
	if err := os.WriteFile(cfg.AdminTokenFile, []byte(tok+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	n := hubtest.Start(t, cfg)
	if n.Token() != tok {
		t.Fatalf("token in force %q, want the file's", n.Token())
	}
	c := newClient(t, n)
	resp, body := c.do(http.MethodPost, "/api/v1/token/rotate", "", nil)
	p := problemOf(t, resp, body, http.StatusNotFound)
	if p.Code != wire.CodeNotFound || !strings.Contains(p.Detail, "admin_token_file") {
		t.Fatalf("rotation refused without saying why: %s", body)
	}
	if resp, body := c.do(http.MethodGet, "/api/v1/datasets", "", nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("the file's token after the refused rotation: %d %s", resp.StatusCode, body)
	}
}
