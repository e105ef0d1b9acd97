package kit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/jobtech-dev/datahub/connector-kit/creds"
	"github.com/jobtech-dev/datahub/connector-kit/publish"
	"github.com/jobtech-dev/datahub/connector-kit/schema"
	"github.com/jobtech-dev/datahub/connector-kit/wire"
)

// Client is an actor's connection to a hub. It is safe for concurrent use.
type Client struct {
	nc    *nats.Conn
	actor string
	opts  options
	pub   *publish.Publisher

	vmu     sync.Mutex
	waiters map[string][]chan struct{} // subject → waiters for a violation

	smu     sync.Mutex
	schemas map[string]cachedSchema
}

type cachedSchema struct {
	s       *schema.Schema
	info    DatasetInfo
	version int
	at      time.Time
	err     error
}

// Dial connects to the hub at url (nats://host:port) as the actor whose
// credentials file is credsFile (written by `hub actor create`).
func Dial(ctx context.Context, url, credsFile string, opts ...Option) (*Client, error) {
	cr, kp, err := creds.Read(credsFile)
	if err != nil {
		return nil, err
	}
	pub, _ := kp.PublicKey()
	return DialKey(ctx, url, cr.Actor, pub, kp.Sign, opts...)
}

// DialKey connects as actor with an nkey held in memory (sign signs the
// server's nonce). Dial is the usual way.
func DialKey(ctx context.Context, url, actor, publicKey string, sign nats.SignatureHandler, opts ...Option) (*Client, error) {
	o := defaults()
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	c := &Client{actor: actor, opts: o, waiters: map[string][]chan struct{}{}, schemas: map[string]cachedSchema{}}
	nopts := append([]nats.Option{
		nats.Name(o.name),
		nats.Nkey(publicKey, sign),
		nats.CustomInboxPrefix(wire.InboxPrefix(actor)),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(o.reconnectMin),
		nats.ReconnectJitter(100*time.Millisecond, time.Second),
		nats.RetryOnFailedConnect(false),
		nats.ErrorHandler(c.onAsyncError),
	}, o.natsOpts...)
	if dl, ok := ctx.Deadline(); ok {
		nopts = append(nopts, nats.Timeout(time.Until(dl)))
	}
	nc, err := nats.Connect(url, nopts...)
	if err != nil {
		if errors.Is(err, nats.ErrAuthorization) {
			return nil, fmt.Errorf("connect to %s as %s: %w: %v", url, actor, ErrForbidden, err)
		}
		return nil, fmt.Errorf("connect to %s as %s: %w: %v", url, actor, ErrHubUnreachable, err)
	}
	c.nc = nc
	if c.pub, err = publish.New(nc, actor, publish.WithWindow(o.window)); err != nil {
		nc.Close()
		return nil, err
	}
	return c, nil
}

// Actor is the name this client acts as.
func (c *Client) Actor() string { return c.actor }

// Conn is the underlying NATS connection.
func (c *Client) Conn() *nats.Conn { return c.nc }

// Close closes the connection; subscriptions stop.
func (c *Client) Close() error {
	_ = c.pub.Close()
	c.nc.Close()
	return nil
}

var violationRE = regexp.MustCompile(`Permissions Violation for (?:Publish|Subscription) to "([^"]+)"`)

// onAsyncError turns the server's permission violations into ErrForbidden
// for whoever waits on that subject.
func (c *Client) onAsyncError(_ *nats.Conn, _ *nats.Subscription, err error) {
	m := violationRE.FindStringSubmatch(err.Error())
	if m == nil {
		c.opts.log.Warn("hub connection error", "err", err)
		return
	}
	subj := m[1]
	c.pub.FailSubject(subj, fmt.Errorf("%s: %w", subj, ErrForbidden))
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
		m, err := c.nc.RequestWithContext(ctx, subject, data)
		done <- result{m, err}
	}()
	select {
	case <-refused:
		return nil, fmt.Errorf("%s: %w", subject, ErrForbidden)
	case r := <-done:
		if r.err != nil {
			if errors.Is(r.err, nats.ErrNoResponders) || errors.Is(r.err, context.DeadlineExceeded) || errors.Is(r.err, nats.ErrTimeout) {
				return nil, fmt.Errorf("%s: %w: %v", subject, ErrHubUnreachable, r.err)
			}
			if errors.Is(r.err, nats.ErrPermissionViolation) {
				return nil, fmt.Errorf("%s: %w", subject, ErrForbidden)
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
// and cached for a few minutes.
func (c *Client) Schema(ctx context.Context, dataset string) (*schema.Schema, int, error) {
	c.smu.Lock()
	cs, ok := c.schemas[dataset]
	c.smu.Unlock()
	if ok && time.Since(cs.at) < c.opts.schemaTTL {
		return cs.s, cs.version, cs.err
	}
	m, err := c.request(ctx, wire.ServiceSubject(wire.SchemaPrefix, dataset, c.actor), nil)
	if err != nil {
		return nil, 0, fmt.Errorf("fetch schema of %s: %w", dataset, err)
	}
	if e := m.Header.Get("Hub-Error"); e != "" {
		err := fmt.Errorf("fetch schema of %s: %w: %s", dataset, ErrUnknownDataset, e)
		c.smu.Lock()
		c.schemas[dataset] = cachedSchema{err: err, at: time.Now()}
		c.smu.Unlock()
		return nil, 0, err
	}
	version, _ := strconv.Atoi(m.Header.Get(wire.HeaderSchemaVersion))
	s, err := schema.Compile(dataset+"@v"+strconv.Itoa(version), m.Data, nil)
	if err != nil {
		return nil, 0, fmt.Errorf("schema of %s: %w", dataset, err)
	}
	info := DatasetInfo{Name: dataset, Owner: m.Header.Get(wire.HeaderDatasetOwner), KeyScope: m.Header.Get(wire.HeaderKeyScope), SchemaVersion: version}
	if info.KeyScope == "" {
		info.KeyScope = wire.KeyScopeDataset // a hub from before key scopes: one key space
	}
	c.smu.Lock()
	c.schemas[dataset] = cachedSchema{s: s, info: info, version: version, at: time.Now()}
	c.smu.Unlock()
	return s, version, nil
}
