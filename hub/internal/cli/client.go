package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/jobtech-dev/datahub/hub/internal/admintoken"
	"github.com/jobtech-dev/datahub/hub/internal/api"
	"github.com/jobtech-dev/datahub/internal/clirun"
	"github.com/jobtech-dev/datahub/internal/problem"
	"github.com/jobtech-dev/datahub/internal/tlshint"
)

// apiClient calls a running hub's admin API.
type apiClient struct {
	base  string
	token string
	http  *http.Client
}

// clientFlags are the flags every admin command takes.
type clientFlags struct {
	hubURL string
	data   string
	tls    tlsFlags
	cmd    *cobra.Command
}

func (f *clientFlags) register(cmd *cobra.Command) {
	f.cmd = cmd
	cmd.Flags().StringVar(&f.hubURL, "hub-url", envOr("HUB_URL", "http://127.0.0.1:8080"), "the hub's HTTP API (env HUB_URL)")
	cmd.Flags().StringVar(&f.data, "data", "data", "the hub's data dir, where the admin token is (env HUB_TOKEN overrides)")
	f.tls.register(cmd)
}

// session is what most admin commands start with: a client and a context
// bounded by cmdTimeout.
func (f *clientFlags) session(cmd *cobra.Command) (*apiClient, context.Context, context.CancelFunc, error) {
	c, err := f.client()
	if err != nil {
		return nil, nil, nil, err
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), cmdTimeout)
	return c, ctx, cancel, nil
}

func (f *clientFlags) client() (*apiClient, error) {
	return f.clientLogging(newLogger(f.cmd.ErrOrStderr(), "warn", "text"))
}

// clientLogging is client with log for the admin token's warnings (nil:
// none, as shell completion wants).
func (f *clientFlags) clientLogging(log *slog.Logger) (*apiClient, error) {
	tok, err := admintoken.Find(f.data, log)
	if err != nil {
		return nil, err
	}
	hc, err := f.tls.httpClient(f.hubURL)
	if err != nil {
		return nil, err
	}
	return &apiClient{base: strings.TrimRight(f.hubURL, "/"), token: tok, http: hc}, nil
}

func (c *apiClient) do(ctx context.Context, method, path, contentType string, body []byte) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if tlshint.Is(err) || (strings.HasPrefix(c.base, "https://") && tlshint.ClosedByPeer(err)) {
			return nil, fmt.Errorf("hub at %s: TLS failed: %w (%s)", c.base, err, tlshint.Hint(err, "--ca", "--client-cert and --client-key"))
		}
		return nil, fmt.Errorf("hub at %s unreachable: %w", c.base, err)
	}
	switch ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); ct {
	case "application/json", "application/x-ndjson", "application/problem+json", "application/schema+json", "multipart/mixed":
		return resp, nil
	}
	if resp.StatusCode/100 == 2 && resp.ContentLength == 0 && resp.Header.Get("Content-Type") == "" {
		return resp, nil // an empty stream
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
	resp.Body.Close()
	return nil, fmt.Errorf("%s is not a JobTech Data Hub API: %s %s answered %s %q (check --hub-url)",
		c.base, method, path, resp.Header.Get("Content-Type"), strings.TrimSpace(string(b)))
}

// errorFrom reads a failed answer as an error: the hub's problem document
// (decoded by internal/problem, as the connector reads a sidecar's), with
// the HTTP status in front, or the status and the start of the body.
func errorFrom(resp *http.Response) error {
	err := problem.Decode(resp)
	var p *problem.Problem
	if errors.As(err, &p) {
		return fmt.Errorf("hub answered %d: %w", p.Status, p)
	}
	return err
}

// getJSON fetches path into v.
func (c *apiClient) getJSON(ctx context.Context, path string, v any) error {
	resp, err := c.do(ctx, http.MethodGet, path, "", nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return errorFrom(resp)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// stream copies an NDJSON response to w. A read that passed over records
// the hub could not load ends with an *unreadableError naming them.
func (c *apiClient) stream(ctx context.Context, path string, w io.Writer) error {
	resp, err := c.do(ctx, http.MethodGet, path, "", nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return errorFrom(resp)
	}
	if _, err = io.Copy(w, resp.Body); err != nil {
		return err
	}
	if seqs := resp.Trailer.Get(api.UnreadableTrailer); seqs != "" {
		return clirun.Refusal(&unreadableError{seqs: seqs}) // a partial answer: exit 1
	}
	return nil
}

// unreadableError is a read that passed over records the hub could not load.
type unreadableError struct{ seqs string }

func (e *unreadableError) Error() string {
	return "records at sequence " + e.seqs + " are unreadable (damaged on disk) and were passed over; every other record was printed. " +
		"The hub reports the loss: see 'hub damage list'"
}

// cmdTimeout bounds admin calls that do not follow a stream.
const cmdTimeout = 2 * time.Minute

// streamContext is the context of a read that may follow a stream: one
// that follows ends on SIGINT or SIGTERM (and the command then succeeds),
// one that does not is bounded by cmdTimeout.
func streamContext(cmd *cobra.Command, follow bool) (context.Context, context.CancelFunc) {
	if follow {
		return signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
	}
	return context.WithTimeout(cmd.Context(), cmdTimeout)
}

// sendJSON sends v as JSON and decodes a 2xx answer into out.
func (c *apiClient) sendJSON(ctx context.Context, method, path string, v, out any) error {
	var body []byte
	if v != nil {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		body = b
	}
	resp, err := c.do(ctx, method, path, "application/json", body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return errorFrom(resp)
	}
	if out == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}
