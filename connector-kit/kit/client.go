package kit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/jobtech-dev/datahub/connector-kit/creds"
	"github.com/jobtech-dev/datahub/connector-kit/schema"
	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/internal/publish"
	"github.com/jobtech-dev/datahub/internal/recordcheck"
	"github.com/jobtech-dev/datahub/internal/tlshint"
)

// Client is an actor's connection to a hub. It is safe for concurrent use.
//
// The connection heals itself: nats.go reconnects after a network loss, and
// when the connection is closed for good by anything but Close (the server
// refused the key twice, or closed it on a protocol error) the client dials
// again with backoff, swaps the new connection in and re-opens its
// subscriptions. No call and no input can leave a Client disconnected.
type Client struct {
	actor string
	url   string
	opts  options
	nopts []nats.Option // to dial again

	cmu       sync.RWMutex
	nc        *nats.Conn
	pub       *publish.Publisher
	closed    bool
	redialing bool
	subs      map[*Subscription]struct{}
	done      chan struct{} // closed by Close: no more dialling

	hmu        sync.Mutex // serialises state changes and the state handler
	stmu       sync.Mutex
	state      ConnState
	lastUp     upKey
	maxPayload atomic.Int64

	vmu     sync.Mutex
	waiters map[string][]chan struct{} // subject → waiters for a violation

	smu      sync.Mutex
	schemas  map[string]cachedSchema
	skips    map[string]bool             // datasets whose local check was said to skip a keyword
	versions map[string]*VersionedSchema // "dataset@n": versions never change
}

type cachedSchema struct {
	s       *schema.Schema
	check   *recordcheck.Checker // s, and the one-pass validator when s compiles to it
	info    DatasetInfo
	version int
	at      time.Time
	err     error
}

// DefaultURL is where Dial connects when neither its url nor the
// credentials file names a hub.
const DefaultURL = "nats://127.0.0.1:4222"

// Dial connects to the hub at url (nats://host:port, or tls://host:port for a
// hub serving TLS) as the actor whose credentials file is credsFile (written
// by `hub actor create`). An empty url means the hub the credentials file
// names, else DefaultURL. A clustered hub's nodes are given comma-separated
// ("nats://a:4222,nats://b:4222"): the client connects to any of them and,
// when that node fails, moves to another by itself (it also learns the
// nodes the cluster tells it of). A credentials file other users can read
// is refused; one its group can read is warned about.
func Dial(ctx context.Context, url, credsFile string, opts ...Option) (*Client, error) {
	o, err := buildOptions(opts)
	if err != nil {
		return nil, err
	}
	cr, kp, err := creds.Read(credsFile, o.log)
	if err != nil {
		return nil, err
	}
	if url, err = resolveURL(url, cr, credsFile); err != nil {
		return nil, err
	}
	pub, _ := kp.PublicKey()
	return dial(ctx, url, cr.Actor, pub, kp.Sign, o)
}

// ResolveURL is the hub address Dial(ctx, url, credsFile) connects to: url
// when it is set, else the hub the credentials file names, else DefaultURL.
func ResolveURL(url, credsFile string) (string, error) {
	if url != "" {
		return url, nil
	}
	cr, _, err := creds.Read(credsFile, nil)
	if err != nil {
		return "", err
	}
	return resolveURL(url, cr, credsFile)
}

func resolveURL(url string, cr creds.Credentials, credsFile string) (string, error) {
	switch {
	case url != "":
		return url, nil
	case cr.Hub == "":
		return DefaultURL, nil
	}
	if err := creds.CheckHubURL(cr.Hub); err != nil {
		return "", fmt.Errorf("credentials %s, '# hub:' line: %w", credsFile, err)
	}
	return cr.Hub, nil
}

// DialKey connects as actor with an nkey held in memory (sign signs the
// server's nonce). Dial is the usual way.
func DialKey(ctx context.Context, url, actor, publicKey string, sign nats.SignatureHandler, opts ...Option) (*Client, error) {
	o, err := buildOptions(opts)
	if err != nil {
		return nil, err
	}
	return dial(ctx, url, actor, publicKey, sign, o)
}

func buildOptions(opts []Option) (options, error) {
	o := defaults()
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return o, err
		}
	}
	return o, nil
}

func dial(ctx context.Context, url, actor, publicKey string, sign nats.SignatureHandler, o options) (*Client, error) {
	c := &Client{actor: actor, url: url, opts: o, waiters: map[string][]chan struct{}{}, schemas: map[string]cachedSchema{},
		subs: map[*Subscription]struct{}{}, done: make(chan struct{})}
	nopts := append([]nats.Option{
		nats.Name(o.name),
		nats.Nkey(publicKey, sign),
		nats.CustomInboxPrefix(wire.InboxPrefix(actor)),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(o.reconnectMin),
		nats.ReconnectJitter(100*time.Millisecond, time.Second),
		nats.RetryOnFailedConnect(false),
	}, append(o.tlsOptions(), o.natsOpts...)...)
	if dl, ok := ctx.Deadline(); ok {
		nopts = append(nopts, nats.Timeout(time.Until(dl)))
	}
	nopts = append(nopts, c.handlers(o.natsOpts)...)
	c.nopts = nopts
	nc, err := nats.Connect(url, nopts...)
	if err != nil {
		if isAuthError(err) {
			return nil, fmt.Errorf("connect to %s as %s: %w: %v", url, actor, ErrUnauthorized, err)
		}
		if tlshint.Is(err) {
			return nil, fmt.Errorf("connect to %s as %s: %w: %v (%s)", url, actor, ErrTLS, err, tlshint.Hint(err, "--ca, hub.ca or kit.WithCA", "--client-cert/--client-key, hub.client_cert/client_key or kit.WithClientCert"))
		}
		return nil, fmt.Errorf("connect to %s as %s: %w: %v", url, actor, ErrHubUnreachable, err)
	}
	pub, err := publish.New(nc, actor, publish.WithWindow(o.window))
	if err != nil {
		nc.Close()
		return nil, err
	}
	c.cmu.Lock()
	c.nc, c.pub = nc, pub
	c.cmu.Unlock()
	c.stmu.Lock()
	c.state = ConnState{Err: errors.New("not connected yet"), Since: time.Now()}
	c.stmu.Unlock()
	if nc.IsConnected() {
		c.up(nc)
	}
	return c, nil
}

// Actor is the name this client acts as.
func (c *Client) Actor() string { return c.actor }

// URL is the hub address this client dialled (from Dial's url, or the
// credentials file when that was empty).
func (c *Client) URL() string { return c.url }

// Conn is the underlying NATS connection now. The client replaces it when
// it has to dial again, so do not keep it: ask again.
func (c *Client) Conn() *nats.Conn {
	c.cmu.RLock()
	defer c.cmu.RUnlock()
	return c.nc
}

// publisher is the publisher on the connection now.
func (c *Client) publisher() *publish.Publisher {
	c.cmu.RLock()
	defer c.cmu.RUnlock()
	return c.pub
}

// Close closes the connection; subscriptions stop and the client dials no
// more.
func (c *Client) Close() error {
	c.cmu.Lock()
	if c.closed {
		c.cmu.Unlock()
		return nil
	}
	c.closed = true
	close(c.done)
	nc, pub := c.nc, c.pub
	c.cmu.Unlock()
	_ = pub.Close()
	nc.Close()
	return nil
}

var violationRE = regexp.MustCompile(`Permissions Violation for (?:Publish|Subscription) to "([^"]+)"`)

// onAsyncError turns the server's permission violations into ErrForbidden
// for whoever waits on that subject.
func (c *Client) onAsyncError(_ *nats.Conn, _ *nats.Subscription, err error) {
	m := violationRE.FindStringSubmatch(err.Error())
	if m == nil {
		if isAuthError(err) { // reported through the connection state
			c.opts.log.Debug("hub refused the key", "err", err)
			return
		}
		c.opts.log.Warn("hub connection error", "err", err)
		return
	}
	// A hub node checks an actor's publish on the subject its mapping made
	// of it (ingest.<d>.<actor>.<node>); the kit sent the one without the node.
	subj := wire.ActorIngestSubject(m[1])
	c.publisher().FailSubject(subj, forbiddenOn(subj))
	c.vmu.Lock()
	ws := c.waiters[subj]
	delete(c.waiters, subj)
	c.vmu.Unlock()
	for _, w := range ws {
		close(w)
	}
}

// watch returns a channel closed when the server refuses subject.
func (c *Client) watch(subject string) (<-chan struct{}, func()) {
	ch := make(chan struct{})
	c.vmu.Lock()
	c.waiters[subject] = append(c.waiters[subject], ch)
	c.vmu.Unlock()
	return ch, func() {
		c.vmu.Lock()
		defer c.vmu.Unlock()
		ws := c.waiters[subject]
		for i, w := range ws {
			if w == ch {
				c.waiters[subject] = append(ws[:i], ws[i+1:]...)
				break
			}
		}
		if len(c.waiters[subject]) == 0 {
			delete(c.waiters, subject)
		}
	}
}

// withTimeout applies the default timeout when ctx has no deadline.
func (c *Client) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, c.opts.timeout)
}

// request sends a request to a hub service, mapping refusals and silence to
// the kit's errors.
func (c *Client) request(ctx context.Context, subject string, data []byte) (*nats.Msg, error) {
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	refused, stop := c.watch(subject)
	defer stop()
	type result struct {
		m   *nats.Msg
		err error
	}
	done := make(chan result, 1)
	go func() {
		m, err := c.Conn().RequestWithContext(ctx, subject, data)
		done <- result{m, err}
	}()
	select {
	case <-refused:
		return nil, forbiddenOn(subject)
	case r := <-done:
		if r.err != nil {
			if errors.Is(r.err, nats.ErrNoResponders) || errors.Is(r.err, context.DeadlineExceeded) || errors.Is(r.err, nats.ErrTimeout) ||
				errors.Is(r.err, nats.ErrConnectionClosed) || errors.Is(r.err, nats.ErrConnectionReconnecting) {
				return nil, fmt.Errorf("%s: %w: %v", subject, ErrHubUnreachable, r.err)
			}
			if errors.Is(r.err, nats.ErrPermissionViolation) {
				return nil, forbiddenOn(subject)
			}
			return nil, fmt.Errorf("%s: %w", subject, r.err)
		}
		return r.m, nil
	}
}

// Datasets lists the names of the hub's datasets.
func (c *Client) Datasets(ctx context.Context) ([]string, error) {
	m, err := c.request(ctx, wire.CatalogSubject(c.actor), nil)
	if err != nil {
		return nil, fmt.Errorf("list datasets: %w", err)
	}
	var names []string
	if err := json.Unmarshal(m.Data, &names); err != nil {
		return nil, fmt.Errorf("list datasets: %w", err)
	}
	return names, nil
}

// refine turns a refusal on a dataset the hub does not have into
// ErrUnknownDataset: the server cannot tell the two apart, the catalog can.
func (c *Client) refine(ctx context.Context, dataset string, err error) error {
	if !errors.Is(err, ErrForbidden) {
		return err
	}
	names, lerr := c.Datasets(ctx)
	if lerr != nil {
		return err
	}
	for _, n := range names {
		if n == dataset {
			return err
		}
	}
	return fmt.Errorf("%s: %w", dataset, ErrUnknownDataset)
}

// Schema returns dataset's current schema and version, fetched from the hub
// and cached for a few minutes. It is compiled without a taxonomy: its
// checks skip the x-taxonomy keyword (see schema.Schema.UncheckedKeywords),
// which the hub checks; the client logs that once per dataset.
func (c *Client) Schema(ctx context.Context, dataset string) (*schema.Schema, int, error) {
	cs, err := c.cachedSchema(ctx, dataset)
	return cs.s, cs.version, err
}

// cachedSchema returns dataset's schema from the cache, fetching it from the
// hub when it is missing or older than the schema TTL.
func (c *Client) cachedSchema(ctx context.Context, dataset string) (cachedSchema, error) {
	if err := checkDataset(dataset); err != nil {
		return cachedSchema{}, fmt.Errorf("fetch schema: %w", err)
	}
	c.smu.Lock()
	cs, ok := c.schemas[dataset]
	c.smu.Unlock()
	if ok && time.Since(cs.at) < c.opts.schemaTTL {
		return cs, cs.err
	}
	m, err := c.request(ctx, wire.ServiceSubject(wire.SchemaPrefix, dataset, c.actor), nil)
	if err != nil {
		return cachedSchema{}, fmt.Errorf("fetch schema of %s: %w", dataset, err)
	}
	if code := m.Header.Get(wire.HeaderErrorCode); code != "" {
		werr := &wire.Error{Code: wire.Code(code), Message: m.Header.Get(wire.HeaderErrorMessage)}
		err := fmt.Errorf("fetch schema of %s: %w", dataset, fromWire(dataset, werr, nil))
		c.smu.Lock()
		c.schemas[dataset] = cachedSchema{err: err, at: time.Now()}
		c.smu.Unlock()
		return cachedSchema{}, err
	}
	version, _ := strconv.Atoi(m.Header.Get(wire.HeaderSchemaVersion))
	s, err := schema.Compile(dataset+"@v"+strconv.Itoa(version), m.Data, nil)
	if err != nil {
		return cachedSchema{}, fmt.Errorf("schema of %s: %w", dataset, err)
	}
	// The local check reads each record once when the schema compiles to
	// the one-pass validator; otherwise the reference checks it.
	check, err := recordcheck.New(s, m.Data, nil, recordcheck.Options{})
	if err != nil {
		check = recordcheck.Reference(s, recordcheck.Options{})
	}
	info := DatasetInfo{Name: dataset, Owner: m.Header.Get(wire.HeaderDatasetOwner), KeyScope: m.Header.Get(wire.HeaderKeyScope), SchemaVersion: version}
	if info.KeyScope == "" {
		info.KeyScope = wire.KeyScopeDataset // a hub from before key scopes: one key space
	}
	cs = cachedSchema{s: s, check: check, info: info, version: version, at: time.Now()}
	c.smu.Lock()
	c.schemas[dataset] = cs
	noted := c.skips[dataset]
	if skip := s.UncheckedKeywords(); len(skip) > 0 && !noted {
		if c.skips == nil {
			c.skips = map[string]bool{}
		}
		c.skips[dataset] = true
		// The kit holds no taxonomy: the hub checks what it skips.
		c.opts.log.Info("local schema check skips keywords the hub checks", "dataset", dataset, "keywords", skip)
	}
	c.smu.Unlock()
	return cs, nil
}

// checkDataset refuses a name that cannot be a dataset before it reaches a
// subject: a very long subject makes the server close the connection, and
// an odd byte in one reaches nobody.
func checkDataset(dataset string) error {
	if wire.ValidName(dataset) {
		return nil
	}
	shown := dataset
	if len(shown) > 80 {
		shown = shown[:80] + "…"
	}
	return fmt.Errorf("%q (%d bytes) is not a dataset name ([a-z][a-z0-9-]{0,62}): %w", shown, len(dataset), ErrUnknownDataset)
}
