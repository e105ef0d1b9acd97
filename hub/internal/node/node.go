// Package node assembles one running hub: the embedded NATS server, the
// registry loaded from the schemas folder, the dataset streams, the taxonomy
// the schemas check references against (following the taxonomy dataset),
// the ingest validators and the HTTP API. It owns their start order; each
// piece's cleanup is pushed on one stack as it starts, so the shutdown order
// is the start order reversed by construction and a start that fails
// half-way stops exactly what it started. The pieces themselves stay
// independent of each other; the node's own context (cancelled last) is
// what their background work runs under. It also sets the connection caps
// (from the file descriptor limit unless told) and watches JetStream's
// storage, reloading the streams when one has failed.
package node

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jobtech-dev/datahub/connector-kit/schema"
	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/hub/internal/access"
	"github.com/jobtech-dev/datahub/hub/internal/accessreq"
	"github.com/jobtech-dev/datahub/hub/internal/actors"
	"github.com/jobtech-dev/datahub/hub/internal/admintoken"
	"github.com/jobtech-dev/datahub/hub/internal/adopt"
	"github.com/jobtech-dev/datahub/hub/internal/api"
	"github.com/jobtech-dev/datahub/hub/internal/audit"
	"github.com/jobtech-dev/datahub/hub/internal/backup"
	"github.com/jobtech-dev/datahub/hub/internal/config"
	"github.com/jobtech-dev/datahub/hub/internal/datasets"
	"github.com/jobtech-dev/datahub/hub/internal/delivery"
	"github.com/jobtech-dev/datahub/hub/internal/federation"
	"github.com/jobtech-dev/datahub/hub/internal/ingest"
	"github.com/jobtech-dev/datahub/hub/internal/integrity"
	"github.com/jobtech-dev/datahub/hub/internal/jobstore"
	"github.com/jobtech-dev/datahub/hub/internal/jsread"
	"github.com/jobtech-dev/datahub/hub/internal/metrics"
	"github.com/jobtech-dev/datahub/hub/internal/natsd"
	"github.com/jobtech-dev/datahub/hub/internal/owners"
	"github.com/jobtech-dev/datahub/hub/internal/redrive"
	"github.com/jobtech-dev/datahub/hub/internal/registry"
	"github.com/jobtech-dev/datahub/hub/internal/seen"
	"github.com/jobtech-dev/datahub/hub/internal/servertls"
	"github.com/jobtech-dev/datahub/hub/internal/store"
	"github.com/jobtech-dev/datahub/hub/internal/web"
	"github.com/jobtech-dev/datahub/internal/dirlock"
	"github.com/jobtech-dev/datahub/internal/fds"
	"github.com/jobtech-dev/datahub/internal/httpserve"
	"github.com/jobtech-dev/datahub/internal/problem"
	"github.com/jobtech-dev/datahub/internal/publish"
	"github.com/jobtech-dev/datahub/internal/taxonomy"
)

// Node is a running hub.
type Node struct {
	cfg     config.Config
	log     *slog.Logger
	mu      sync.Mutex // guards access while it starts
	nats    *natsd.Server
	ncIn    *nats.Conn // ingest requests and replies
	ncJS    *nats.Conn // JetStream publishes and reads
	ncAdmin *nats.Conn // records an admin publishes through the API
	js      jetstream.JetStream
	reg     *registry.Registry
	ingest  *ingest.Service
	owners  *owners.Store
	keys    *owners.Service
	deliv   *delivery.Service
	fed     *federation.Service // the links to peer hubs this hub takes datasets from
	audit   *audit.Log
	auditw  *audit.Writer   // the one writer of entries: records, submits, refusals, retention
	anchors *audit.Anchorer // publishes the chain's signed head
	actors  *actors.Store
	access  *access.Service
	pub     *publish.Publisher
	http    *httpserve.Server
	ln      net.Listener
	token   *admintoken.Keeper // the admin API's token, rotatable on a single hub
	tls     *servertls.Certs   // nil: both listeners are plain
	lock    *dirlock.Lock      // the data dir's, held from the start to the end of Shutdown
	storage *storageWatch
	// life is the node's own context, from Start to Shutdown: what the
	// node runs in the background runs under it (or a child of it).
	life context.Context
	// undo is the one stack of what Start started; Shutdown unwinds it.
	undo        cleanups
	natsRunning bool // the embedded server started and has not stopped (yet)
	// integrity compares the streams with what the hub last recorded of them.
	integrity *integrity.Tracker
	// datasets keeps the registry's state and changes it at run time.
	datasets *datasets.Service
	// taxonomy is what the schemas' x-taxonomy keyword checks against.
	taxonomy *taxonomy.Index
	// metrics counts and reads what Prometheus scrapes; metricsHTTP serves
	// it on --metrics-listen when set.
	metrics     *metrics.Metrics
	metricsHTTP *httpserve.Server
	metricsLn   net.Listener
	redrive     *redrive.Service
	services    *jobstore.Store
	requests    *accessreq.Service
	apiHandler  *api.Handler

	// In a cluster (cluster.go).
	peerTLS  *servertls.Peer    // the routes' certificates, nil without TLS
	adopting atomic.Bool        // bringing a single hub's data into the cluster
	helloSub *nats.Subscription // answers the other nodes at start
	replLoop *replicaLoop       // raises the streams' copies as nodes join
}

// Start brings a hub up and returns once it is ready to serve. On any error
// everything already started is stopped again.
func Start(ctx context.Context, cfg config.Config, log *slog.Logger) (_ *Node, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	n := &Node{cfg: cfg, log: log, metrics: metrics.New(), undo: cleanups{log: log.With("component", "node")}}
	defer func() {
		if err != nil {
			// Undo exactly what this start started, within a bound of
			// its own: ctx may be what ended the start.
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			if uerr := n.undo.unwind(sctx); uerr != nil {
				log.Warn("undo a failed start", "err", uerr)
			}
		}
	}()
	// The node's own context: its values from ctx, not its end (ctx bounds
	// the start); cancelled last, after every piece stopped.
	life, cancel := context.WithCancel(context.WithoutCancel(ctx))
	n.life = life
	n.undo.pushFunc("node context", cancel)
	// Filled from the registry's state and the schemas folder once the
	// audit log is open; readers see it change whole.
	n.reg = registry.New()
	// What the schemas' x-taxonomy keyword checks against; filled from the
	// taxonomy dataset before ingest starts, and live after.
	n.taxonomy = taxonomy.NewIndex()
	// One hub per data dir: a second one would interleave its writes with
	// the first's in the same JetStream files (and break the audit chain).
	if n.lock, err = dirlock.Acquire(cfg.Data); err != nil {
		var held *dirlock.HeldError
		if errors.As(err, &held) {
			return nil, fmt.Errorf("another hub runs on this data dir: %w; stop it first, or give this hub another --data", err)
		}
		return nil, err
	}
	n.undo.push("data dir lock", func(context.Context) error {
		// The data dir is free only once JetStream stopped writing to
		// it; if it did not stop in time, the lock goes with the process.
		if n.natsRunning {
			return nil
		}
		return n.lock.Release()
	})
	if n.token, err = n.adminToken(); err != nil {
		return nil, err
	}
	cluster, err := n.clusterConfig()
	if err != nil {
		return nil, err
	}
	var adoptable *adopt.Manifest
	if cluster != nil {
		if adoptable, err = n.exportStandalone(ctx); err != nil {
			return nil, err
		}
		// Said to the other nodes from the moment they can ask: they wait
		// for this node's records before they create anything.
		n.adopting.Store(adoptable != nil)
	}
	var natsTLS *tls.Config
	if cfg.TLSCert != "" {
		if n.tls, err = servertls.Load(servertls.Files{Cert: cfg.TLSCert, Key: cfg.TLSKey, ClientCA: cfg.TLSClientCA}, log); err != nil {
			return nil, err
		}
		natsTLS = n.tls.Config()
	}
	// The schemas folder is read and compiled while JetStream recovers its
	// streams (with a million stored records most of a start), not after.
	compile := []schema.Option{schema.WithTaxonomy(n.taxonomy)}
	folder := datasets.ReadFolder(cfg.Schemas, compile...)
	n.undo.pushFunc("schemas folder read", folder.Wait)
	limits := limitsFor(cfg, fds.Limit())
	n.nats, err = natsd.Start(ctx, natsd.Config{
		TLS:              natsTLS,
		MaxConns:         limits.natsMax,
		MaxConnsPerActor: limits.natsPerActor,
		SyncInterval:     cfg.JetStreamSyncInterval,
		Name:             cfg.Node(),
		Cluster:          cluster,
		Advertise:        cfg.NATSAdvertise,
		Listen:           cfg.NATSListen,
		StoreDir:         filepath.Join(cfg.Data, "jetstream"),
		MaxPayload:       int32(cfg.MaxRecordBytes + wire.PayloadHeadroom),
		Logger:           log,
		OnViolation: func(actor string, cid uint64, msg string) {
			n.metrics.Violation(actor)
			if a := n.accessSvc(); a != nil {
				a.Violation(actor, cid, msg)
			}
		},
	})
	if err != nil {
		return nil, err
	}
	n.natsRunning = true
	n.undo.push("nats server", func(ctx context.Context) error {
		if err := n.nats.Shutdown(ctx); err != nil {
			return err
		}
		n.natsRunning = false
		return nil
	})
	if n.ncIn, err = n.nats.Connect("hub-ingest"); err != nil {
		return nil, err
	}
	n.undo.pushFunc("ingest connection", func() {
		_ = n.ncIn.Flush()
		n.ncIn.Close()
	})
	if n.ncJS, err = n.nats.Connect("hub-jetstream"); err != nil {
		return nil, err
	}
	n.undo.push("jetstream connection", func(ctx context.Context) error {
		if n.js != nil {
			select {
			case <-n.js.PublishAsyncComplete():
			case <-ctx.Done():
			}
		}
		n.ncJS.Close()
		return nil
	})
	if n.js, err = jetstream.New(n.ncJS, jetstream.WithPublishAsyncMaxPending(4096), jetstream.WithPublishAsyncTimeout(30*time.Second)); err != nil {
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	key, created, err := audit.LoadOrCreateKey(cfg.AnchorKeyPath())
	if err != nil {
		return nil, fmt.Errorf("audit_anchor_key: %w", err)
	}
	anchorPub, _ := key.PublicKey()
	if created {
		log.Info("audit anchor key created; keep it apart from the data dir", "path", cfg.AnchorKeyPath(), "public_key", anchorPub)
	}
	if cluster != nil {
		// Nothing of the hub's state is created or changed before the
		// cluster has a quorum and holds what a joining hub brings.
		if err := n.startHello(); err != nil {
			return nil, err
		}
		n.undo.pushFunc("cluster hello", func() { _ = n.helloSub.Unsubscribe() })
		if err := n.waitQuorum(ctx); err != nil {
			return nil, err
		}
		if err := n.joinCluster(ctx, adoptable, anchorPub); err != nil {
			return nil, err
		}
	}
	def := cfg.DefaultReplicas()
	// Compare the streams with the record before anything creates or
	// changes them: loss behind the hub's back is reported, not hidden. On
	// a cluster node this comes after the join, once the cluster holds the
	// streams a single hub brought into it.
	if err := n.retry(ctx, "stream-state check", func(ctx context.Context) (err error) {
		if n.integrity == nil {
			if n.integrity, err = integrity.Open(ctx, cfg.Data, n.js, integrity.Options{Logger: log, Replicas: n.replicas(ctx, "KV_"+integrity.Bucket, def)}); err != nil {
				return err
			}
			// The streams' state is recorded last, after every audit
			// entry (the writer and anchorer start after it).
			n.undo.push("stream-state record", n.integrity.Close)
		}
		_, err = n.integrity.Check(ctx)
		return err
	}); err != nil {
		return nil, err
	}
	if err := n.retry(ctx, "dead-letter stream", func(ctx context.Context) error {
		return store.EnsureDeadLetter(ctx, n.js, store.DeadLetterConfig{MaxAge: cfg.DeadLetterMaxAge, MaxBytes: cfg.DeadLetterMaxBytes,
			Replicas: n.replicas(ctx, wire.DeadLetterStream, def)})
	}); err != nil {
		return nil, err
	}
	if err := n.retry(ctx, "audit log", func(ctx context.Context) (err error) {
		n.audit, err = audit.Open(ctx, n.js, audit.WithLogger(log), audit.WithAnchorKey(key),
			audit.WithReplicas(n.replicas(ctx, audit.StreamName, def)))
		return err
	}); err != nil {
		return nil, err
	}
	n.anchors, err = audit.NewAnchorer(n.audit, audit.AnchorerOptions{Hub: cfg.Name, File: cfg.AnchorFilePath(), Interval: cfg.AuditAnchorInterval, Logger: log})
	if err != nil {
		return nil, err
	}
	n.undo.push("audit anchorer", func(ctx context.Context) error {
		if err := n.anchors.Close(ctx); err != nil && !errors.Is(err, audit.ErrDiverged) {
			return err
		}
		return nil
	})
	// Every audit entry is written before the last anchor is taken, and
	// both before JetStream stops.
	n.auditw = audit.NewWriter(life, n.audit, audit.WriterOptions{MaxAge: cfg.AuditMaxAge, Logger: log})
	n.undo.push("audit writer", n.auditw.Close)
	if err := n.retry(ctx, "dataset registry", func(ctx context.Context) (err error) {
		n.datasets, err = datasets.Open(ctx, datasets.Deps{JS: n.js, Registry: n.reg, Audit: n.auditw, Logger: log,
			Replicas:       n.replicas(ctx, "KV_"+datasets.Bucket, def),
			CompileOptions: compile,
			Changed: func() int {
				if a := n.accessSvc(); a != nil {
					return a.DatasetsChanged()
				}
				return 0
			},
			DeleteStream: n.integrity.DeleteStream,
			ForgetOwners: func(ctx context.Context, dataset string) (int, error) {
				if n.owners == nil {
					return 0, nil
				}
				return n.owners.Forget(ctx, dataset)
			},
		})
		return err
	}); err != nil {
		return nil, err
	}
	// The datasets last applied, then the schemas folder (as the policies
	// below): their streams are created or updated here.
	if err := n.retry(ctx, "datasets in force", func(ctx context.Context) error { return n.datasets.LoadInitialFolder(ctx, folder) }); err != nil {
		return nil, err
	}
	if err := n.retry(ctx, "actors", func(ctx context.Context) (err error) {
		n.actors, err = actors.Open(ctx, n.js, actors.Options{Replicas: n.replicas(ctx, "KV_"+actors.Bucket, def), Removed: n.actorRemoved, Logger: log})
		if n.actors != nil && errors.Is(err, jsread.ErrUnreadable) {
			// Actors whose entries are damaged are refused; the others
			// work, and the damage is reported (the start check found it
			// too).
			var ue *jsread.UnreadableError
			if errors.As(err, &ue) {
				n.integrity.Report(ctx, ue.Stream, ue.Seqs)
			}
			return nil
		}
		return err
	}); err != nil {
		return nil, err
	}
	n.undo.pushFunc("actors", n.actors.Close)
	if err := n.retry(ctx, "stream-state record", func(ctx context.Context) error { return n.integrity.Attach(ctx, n.audit) }); err != nil {
		return nil, err
	}
	n.integrity.Start(life)
	var acc *access.Service
	if err := n.retry(ctx, "policies", func(ctx context.Context) (err error) {
		deps := access.Deps{Actors: n.actors, Registry: n.reg, Audit: n.auditw, NATS: n.nats, JS: n.js, Logger: log,
			SubscriptionGrace: cfg.SubscriptionGrace, Replicas: n.replicas(ctx, "KV_"+access.PolicyBucket, def)}
		if cluster != nil {
			deps.Node, deps.Leader = cfg.Node(), n.leads
		}
		acc, err = access.New(ctx, deps)
		return err
	}); err != nil {
		return nil, err
	}
	n.mu.Lock()
	n.access = acc
	n.mu.Unlock()
	n.undo.pushFunc("access", acc.Close)
	if err := n.retry(ctx, "policies in force", func(ctx context.Context) error { return acc.LoadInitial(ctx, cfg.Policies) }); err != nil {
		return nil, err
	}
	n.nats.SetAuthorizer(n.metrics.Authorizer(acc))
	n.metrics.Watch(life, metrics.Sources{Registry: n.reg, JetStream: n.js, NATS: n.nats.NATS(), Connected: n.nats.Connected, Logger: log,
		Policies: func() map[string]int {
			set := acc.Policies()
			out := map[string]int{"files": set.Base().Len()}
			for layer, ids := range set.Layers() {
				out[layer] = len(ids)
			}
			return out
		}})
	n.deliv = delivery.New(n.ncIn, n.js, n.reg, log)
	n.deliv.SetRegistrar(n.datasets.RegisterForActor)
	if err := n.deliv.Start(life); err != nil {
		return nil, err
	}
	n.undo.pushFunc("delivery", n.deliv.Stop)
	if err := n.retry(ctx, "key owners", func(ctx context.Context) (err error) {
		n.owners, err = openOwners(ctx, n.js, n.reg.List(), n.replicas(ctx, "KV_"+owners.Bucket, def), log)
		return err
	}); err != nil {
		return nil, err
	}
	n.undo.pushFunc("key owners", n.owners.Close)
	n.keys = owners.NewService(n.ncIn, n.reg, n.owners, n.audit, cfg.Name, log)
	if err := n.keys.Start(life); err != nil {
		return nil, err
	}
	n.undo.pushFunc("key requests", n.keys.Stop)
	var seenSet *seen.Set
	if err := n.retry(ctx, "federated records seen", func(ctx context.Context) (err error) {
		seenSet, err = seen.Open(ctx, n.js, n.replicas(ctx, seen.Stream, def))
		return err
	}); err != nil {
		return nil, err
	}
	// The follows of the dataset registry and the taxonomy run until this
	// step is undone.
	bg, stopFollows := context.WithCancel(life)
	var follows sync.WaitGroup
	n.undo.push("follows", func(ctx context.Context) error {
		stopFollows()
		return waitGroup(ctx, &follows)
	})
	if cluster != nil {
		// Datasets applied through another node come into force here too.
		if err := n.datasets.Follow(bg); err != nil {
			return nil, err
		}
	}
	onStored, err := n.followTaxonomy(ctx, bg, &follows)
	if err != nil {
		return nil, err
	}
	n.ingest = ingest.New(n.ncIn, n.js, n.reg, ingest.Options{Origin: cfg.Name, Limits: cfg.Limits(), Workers: cfg.Workers, Owners: n.owners, Logger: log,
		Subject: n.nats.IngestSubject(), Ordered: cluster != nil, OnStored: onStored, Observer: n.metrics, Seen: seenSet})
	if err := n.ingest.Start(ctx); err != nil {
		return nil, err
	}
	n.undo.push("ingest", n.ingest.Stop)
	if err := n.retry(ctx, "federation", func(ctx context.Context) (err error) {
		n.fed, err = federation.New(ctx, federation.Deps{JS: n.js, NC: n.ncIn, Registry: n.reg, Ingest: n.ingest, Audit: n.auditw,
			Anchors: n.anchors, Hub: cfg.Name, Node: n.nats.NATS().Name(), Replicas: n.replicas(ctx, "KV_"+federation.Bucket, def), Logger: log})
		return err
	}); err != nil {
		return nil, err
	}
	if err := n.fed.Start(); err != nil {
		return nil, err
	}
	n.undo.push("federation", func(ctx context.Context) error { n.fed.Stop(ctx); return nil })
	n.anchors.AddSink(n.fed)
	if n.ncAdmin, err = n.nats.Connect("hub-admin", nats.CustomInboxPrefix(wire.InboxPrefix(wire.AdminActor))); err != nil {
		return nil, err
	}
	n.undo.pushFunc("admin connection", n.ncAdmin.Close)
	if n.pub, err = publish.New(n.ncAdmin, wire.AdminActor); err != nil {
		return nil, err
	}
	n.undo.pushFunc("admin publisher", func() { _ = n.pub.Close() })
	// The web's buckets start with one copy; on a cluster node the replica
	// loop raises them with the others (hubStreams).
	if err := n.retry(ctx, "re-drives", func(ctx context.Context) (err error) {
		n.redrive, err = redrive.Open(ctx, n.js, n.ingest.StoreAs, n.auditw, log)
		return err
	}); err != nil {
		return nil, err
	}
	known := func(d string) bool { _, ok := n.reg.Get(d); return ok }
	if err := n.retry(ctx, "the Jobstore", func(ctx context.Context) (err error) {
		n.services, err = jobstore.Open(ctx, n.js, n.auditw, known, log)
		return err
	}); err != nil {
		return nil, err
	}
	if err := n.retry(ctx, "access requests", func(ctx context.Context) (err error) {
		n.requests, err = accessreq.Open(ctx, n.js, acc, n.reg, n.auditw, log)
		return err
	}); err != nil {
		return nil, err
	}
	if n.ln, err = net.Listen("tcp", cfg.HTTPListen); err != nil {
		return nil, fmt.Errorf("http listen %s: %w", cfg.HTTPListen, err)
	}
	// Closed here when the server never served on it (its Shutdown
	// closes it otherwise; a second Close is harmless).
	n.undo.pushFunc("http listener", func() { _ = n.ln.Close() })
	limits.http.Refuse = problem.WriteStatus
	pages, err := web.New(web.Deps{Registry: n.reg, JetStream: n.js, Access: acc, Audit: n.audit, Anchors: n.anchors, Services: n.services,
		Requests: n.requests, Redrive: n.redrive, Tokens: n.token, Connected: n.nats.Connected, Origin: cfg.Name,
		SessionMaxAge: cfg.SessionMaxAge, DownloadsPerMinute: cfg.PublicRateLimit, Logger: log})
	if err != nil {
		return nil, err
	}
	deps := api.Deps{
		Registry:           n.reg,
		Datasets:           n.datasets,
		JetStream:          n.js,
		Publisher:          n.pub,
		Tokens:             n.token,
		Ready:              n.Ready,
		MaxRecordBytes:     cfg.MaxRecordBytes,
		MaxBatch:           cfg.MaxBatch,
		MaxBatchBytes:      cfg.MaxBatchBytes,
		BatchConcurrency:   cfg.BatchConcurrency,
		BatchInflightBytes: cfg.BatchInflightBytes,
		Access:             acc,
		Audit:              n.audit,
		Anchors:            n.anchors,
		Owners:             n.owners,
		Origin:             cfg.Name,
		NATSURL:            n.NATSURL(),
		NATSConnected:      n.nats.Connected,
		Cluster:            n.clusterHealth,
		Logger:             log,
		Damage:             n.integrity,
		Backups:            &backup.Source{Connect: n.nats.Connect, JS: n.js, Hub: cfg.Name, Logger: log},
		Metrics:            n.metrics.Handler(),
		Extra:              api.Extras{Redrive: n.redrive, Services: n.services, Requests: n.requests},
		Web:                pages,
		Federation:         n.fed,
	}
	if cfg.AdminTokenFile != "" {
		// One token for every node, from a file the operator keeps: a
		// rotation through one node's API would change that node alone.
		deps.Tokens, deps.Token = nil, n.token.Token()
	}
	n.apiHandler = api.New(deps)
	n.http = httpserve.New(n.apiHandler, limits.http, log.With("component", "http"))
	if err := n.serveMetrics(cfg, limits.http); err != nil {
		return nil, err
	}
	serve := n.http.Serve
	if n.tls != nil {
		serve = func(ln net.Listener) error { return n.http.ServeTLS(ln, n.tls.Config("h2", "http/1.1")) }
	}
	n.storage = &storageWatch{n: n, every: time.Second}
	sctx, stopStorage := context.WithCancel(life)
	var watching sync.WaitGroup
	watching.Go(func() { n.storage.run(sctx) })
	n.undo.push("storage watch", func(ctx context.Context) error {
		stopStorage()
		return waitGroup(ctx, &watching)
	})
	go func() {
		if err := serve(n.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("http server stopped", "err", err)
		}
	}()
	n.undo.push("http server", n.http.Shutdown)
	// The first anchor of this run checks that the log still passes through
	// the last one (a deleted or cut audit stream is logged as an ERROR
	// here, and verify reports it; it does not keep the hub from serving),
	// and anchors what the start wrote.
	if _, _, err := n.anchors.Publish(ctx); err != nil && !errors.Is(err, audit.ErrDiverged) {
		log.Warn("audit anchor at start", "err", err)
	}
	n.anchors.Start(life) // stopped by its Close, pushed when it was made
	if cluster != nil {
		n.startReplicaLoop()
		n.undo.pushFunc("replica loop", n.replLoop.close)
	}
	log.Info("hub ready", "name", cfg.Name, "nats", n.NATSURL(), "http", n.HTTPURL(), "datasets", len(n.reg.List()), "data", cfg.Data,
		"fd_limit", fds.Limit(), "nats_max_conns", limits.natsMax, "http_max_conns", n.http.Config().MaxConns)
	return n, nil
}

// openOwners opens the key owners and, for each dataset whose keys are
// owned, records the publishers of records stored before it had owners (once).
func openOwners(ctx context.Context, js jetstream.JetStream, datasets []*registry.Dataset, replicas int, log *slog.Logger) (*owners.Store, error) {
	st, err := owners.Open(ctx, js, replicas, log)
	if err != nil {
		return nil, err
	}
	for _, d := range datasets {
		if d.ScopedByPublisher() {
			continue
		}
		n, err := st.Seed(ctx, d.Name, func(ctx context.Context, fn func(key, origin, publisher string) error) error {
			return store.Read(ctx, js, d.Name, store.Position{Snapshot: true}, store.ReadOptions{Tombstones: true}, func(e wire.Envelope) error {
				return fn(e.Key, e.Origin, e.Publisher)
			})
		})
		if err != nil {
			st.Close()
			return nil, fmt.Errorf("dataset %s: %w", d.Name, err)
		}
		if n > 0 {
			log.Info("key owners recorded for records stored before keys had owners", "dataset", d.Name, "keys", n)
		}
	}
	return st, nil
}

func (n *Node) accessSvc() *access.Service {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.access
}

// Access decides and changes who may do what.
func (n *Node) Access() *access.Service { return n.accessSvc() }

// Audit is the audit log.
func (n *Node) Audit() *audit.Log { return n.audit }

// Anchors publishes the audit chain's signed head; add sinks to it.
func (n *Node) Anchors() *audit.Anchorer { return n.anchors }

// Ready reports nil when the hub can take and serve records.
func (n *Node) Ready(ctx context.Context) error {
	if n.ncIn == nil || !n.ncIn.IsConnected() || n.ncJS == nil || !n.ncJS.IsConnected() {
		return errors.New("not connected to the embedded NATS server")
	}
	if n.nats.Clustered() {
		if st := n.nats.Cluster(); !st.Quorum {
			return fmt.Errorf("no JetStream quorum: node %s sees no leader it is current with (routed to %v of a cluster of %d)", st.Node, st.Routed, st.Size)
		}
	}
	if n.storage != nil {
		if err := n.storage.err(); err != nil {
			return err
		}
	}
	if err := n.nats.StorageHealth(); err != nil {
		return err
	}
	// A full descriptor table fails every file JetStream opens next.
	if u, err := fds.Now(); err != nil && !errors.Is(err, fds.ErrUnknown) {
		return fmt.Errorf("file descriptors: %w", err)
	} else if err == nil && u.Limit > 0 && u.Free() < 16 {
		return fmt.Errorf("file descriptors nearly exhausted: %s", u)
	}
	if _, err := n.js.AccountInfo(ctx); err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}
	if n.integrity != nil {
		return n.integrity.Ready() // degraded while data loss is not acknowledged
	}
	return nil
}

// NATSURL is where actors connect.
func (n *Node) NATSURL() string { return n.nats.ClientURL() }

// HTTPURL is the base URL of the API: https://… when it serves TLS.
func (n *Node) HTTPURL() string {
	if n.tls != nil {
		return "https://" + n.ln.Addr().String()
	}
	return "http://" + n.ln.Addr().String()
}

// TLS is the certificate material both listeners serve, nil when they are
// plain.
func (n *Node) TLS() *servertls.Certs { return n.tls }

// ReloadTLS reads the certificate, key and client CA files again; new
// connections on both listeners get them, open ones keep theirs. On error
// the certificates in force stay. It returns servertls.ErrNotConfigured when
// the hub serves no TLS.
func (n *Node) ReloadTLS() error {
	if n.tls == nil {
		return servertls.ErrNotConfigured
	}
	return n.tls.Reload()
}

// Token is the admin token in force.
func (n *Node) Token() string { return n.token.Token() }

// NATS is the embedded server, for adding identities.
func (n *Node) NATS() *natsd.Server { return n.nats }

// Registry is the dataset registry.
func (n *Node) Registry() *registry.Registry { return n.reg }

// Datasets changes the dataset registry at run time.
func (n *Node) Datasets() *datasets.Service { return n.datasets }

// JetStream is the hub's own JetStream handle.
func (n *Node) JetStream() jetstream.JetStream { return n.js }

// Owners is who owns the keys of datasets with key_scope: dataset.
func (n *Node) Owners() *owners.Store { return n.owners }

// Federation is the hub's federation: its links to peer hubs.
func (n *Node) Federation() *federation.Service { return n.fed }

// IngestCounts reports the validator's running totals.
func (n *Node) IngestCounts() ingest.Counts { return n.ingest.Counts() }

// Shutdown stops taking requests, lets in-flight records finish, and stops
// the server so JetStream's files are complete: it stops what Start started
// in the reverse order, each wait bounded by ctx. A second call does
// nothing more.
func (n *Node) Shutdown(ctx context.Context) error {
	n.handOver()
	return n.undo.unwind(ctx)
}

// waitGroup waits for wg, or until ctx ends.
func waitGroup(ctx context.Context, wg *sync.WaitGroup) error {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
