// Package node assembles one running hub: the embedded NATS server, the
// registry loaded from the schemas folder, the dataset streams, the ingest
// validators and the HTTP API. It owns their start order and their shutdown
// order, so the pieces themselves stay independent of each other.
package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/hub/internal/access"
	"github.com/jobtech-dev/datahub/hub/internal/actors"
	"github.com/jobtech-dev/datahub/hub/internal/admintoken"
	"github.com/jobtech-dev/datahub/hub/internal/api"
	"github.com/jobtech-dev/datahub/hub/internal/audit"
	"github.com/jobtech-dev/datahub/hub/internal/backup"
	"github.com/jobtech-dev/datahub/hub/internal/config"
	"github.com/jobtech-dev/datahub/hub/internal/delivery"
	"github.com/jobtech-dev/datahub/hub/internal/ingest"
	"github.com/jobtech-dev/datahub/hub/internal/integrity"
	"github.com/jobtech-dev/datahub/hub/internal/jsread"
	"github.com/jobtech-dev/datahub/hub/internal/natsd"
	"github.com/jobtech-dev/datahub/hub/internal/registry"
	"github.com/jobtech-dev/datahub/hub/internal/store"
	"github.com/jobtech-dev/datahub/internal/publish"
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
	deliv   *delivery.Service
	audit   *audit.Log
	actors  *actors.Store
	access  *access.Service
	pub     *publish.Publisher
	http    *http.Server
	ln      net.Listener
	token   *admintoken.Keeper
	// integrity compares the streams with what the hub last recorded of them.
	integrity *integrity.Tracker
}

// Start brings a hub up and returns once it is ready to serve. On any error
// everything already started is stopped again.
func Start(ctx context.Context, cfg config.Config, log *slog.Logger) (_ *Node, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if log == nil {
		log = slog.Default()
	}
	n := &Node{cfg: cfg, log: log}
	defer func() {
		if err != nil {
			sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = n.Shutdown(sctx)
		}
	}()
	datasets, err := registry.LoadDir(cfg.Schemas)
	if err != nil {
		return nil, fmt.Errorf("load datasets from %s: %w", cfg.Schemas, err)
	}
	n.reg = registry.New(datasets...)
	tok, err := admintoken.LoadOrCreate(cfg.Data)
	if err != nil {
		return nil, err
	}
	n.token = admintoken.NewKeeper(cfg.Data, tok)
	n.nats, err = natsd.Start(ctx, natsd.Config{
		Name:       cfg.Name,
		Listen:     cfg.NATSListen,
		StoreDir:   filepath.Join(cfg.Data, "jetstream"),
		MaxPayload: int32(cfg.MaxRecordBytes + 64<<10),
		Logger:     log,
		OnViolation: func(actor string, cid uint64, msg string) {
			if a := n.accessSvc(); a != nil {
				a.Violation(actor, cid, msg)
			}
		},
	})
	if err != nil {
		return nil, err
	}
	if n.ncIn, err = n.nats.Connect("hub-ingest"); err != nil {
		return nil, err
	}
	if n.ncJS, err = n.nats.Connect("hub-jetstream"); err != nil {
		return nil, err
	}
	if n.js, err = jetstream.New(n.ncJS, jetstream.WithPublishAsyncMaxPending(4096), jetstream.WithPublishAsyncTimeout(30*time.Second)); err != nil {
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	// Compare the streams with the record before anything creates or
	// changes them: loss behind the hub's back is reported, not hidden.
	if n.integrity, err = integrity.Open(ctx, cfg.Data, n.js, integrity.Options{Logger: log}); err != nil {
		return nil, err
	}
	if _, err := n.integrity.Check(ctx); err != nil {
		return nil, err
	}
	if err := store.EnsureDeadLetter(ctx, n.js, store.DeadLetterConfig{MaxAge: cfg.DeadLetterMaxAge, MaxBytes: cfg.DeadLetterMaxBytes}); err != nil {
		return nil, err
	}
	for _, d := range datasets {
		if err := store.EnsureDataset(ctx, n.js, d, 1); err != nil {
			return nil, err
		}
	}
	if n.audit, err = audit.Open(ctx, n.js, audit.WithLogger(log)); err != nil {
		return nil, err
	}
	if n.actors, err = actors.Open(ctx, n.js); err != nil {
		// Actors whose entries are damaged are refused; the others work,
		// and the damage is reported (the start check found it too).
		var ue *jsread.UnreadableError
		if !errors.As(err, &ue) || n.actors == nil {
			return nil, err
		}
		n.integrity.Report(ctx, ue.Stream, ue.Seqs)
	}
	if err := n.integrity.Attach(ctx, n.audit); err != nil {
		return nil, err
	}
	n.integrity.Start()
	acc, err := access.New(ctx, access.Deps{Actors: n.actors, Registry: n.reg, Audit: n.audit, NATS: n.nats, JS: n.js, Logger: log,
		SubscriptionGrace: cfg.SubscriptionGrace})
	if err != nil {
		return nil, err
	}
	n.mu.Lock()
	n.access = acc
	n.mu.Unlock()
	if err := acc.LoadInitial(ctx, cfg.Policies); err != nil {
		return nil, err
	}
	n.nats.SetAuthorizer(acc)
	n.deliv = delivery.New(n.ncIn, n.js, n.reg, log)
	if err := n.deliv.Start(ctx); err != nil {
		return nil, err
	}
	n.ingest = ingest.New(n.ncIn, n.js, n.reg, ingest.Options{Origin: cfg.Name, Limits: cfg.Limits(), Workers: cfg.Workers, Logger: log})
	if err := n.ingest.Start(ctx); err != nil {
		return nil, err
	}
	if n.ncAdmin, err = n.nats.Connect("hub-admin", nats.CustomInboxPrefix(wire.InboxPrefix(wire.AdminActor))); err != nil {
		return nil, err
	}
	if n.pub, err = publish.New(n.ncAdmin, wire.AdminActor); err != nil {
		return nil, err
	}
	if n.ln, err = net.Listen("tcp", cfg.HTTPListen); err != nil {
		return nil, fmt.Errorf("http listen %s: %w", cfg.HTTPListen, err)
	}
	n.http = &http.Server{
		Handler: api.New(api.Deps{
			Registry:       n.reg,
			JetStream:      n.js,
			Publisher:      n.pub,
			Tokens:         n.token,
			Ready:          n.Ready,
			MaxRecordBytes: cfg.MaxRecordBytes,
			MaxBatch:       cfg.MaxBatch,
			Access:         acc,
			Audit:          n.audit,
			NATSConnected:  n.nats.Connected,
			Logger:         log,
			Damage:         n.integrity,
			Backups:        &backup.Source{Connect: n.nats.Connect, JS: n.js, Hub: cfg.Name, Logger: log},
		}),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	go func() {
		if err := n.http.Serve(n.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("http server stopped", "err", err)
		}
	}()
	log.Info("hub ready", "name", cfg.Name, "nats", n.NATSURL(), "http", n.HTTPURL(), "datasets", len(datasets), "data", cfg.Data)
	return n, nil
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

// Ready reports nil when the hub can take and serve records.
func (n *Node) Ready(ctx context.Context) error {
	if n.ncIn == nil || !n.ncIn.IsConnected() || n.ncJS == nil || !n.ncJS.IsConnected() {
		return errors.New("not connected to the embedded NATS server")
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

// HTTPURL is the base URL of the API.
func (n *Node) HTTPURL() string { return "http://" + n.ln.Addr().String() }

// Token is the admin token in force.
func (n *Node) Token() string { return n.token.Token() }

// NATS is the embedded server, for adding identities.
func (n *Node) NATS() *natsd.Server { return n.nats }

// Registry is the dataset registry.
func (n *Node) Registry() *registry.Registry { return n.reg }

// JetStream is the hub's own JetStream handle.
func (n *Node) JetStream() jetstream.JetStream { return n.js }

// IngestCounts reports the validator's running totals.
func (n *Node) IngestCounts() ingest.Counts { return n.ingest.Counts() }

// Shutdown stops taking requests, lets in-flight records finish, and stops
// the server so JetStream's files are complete.
func (n *Node) Shutdown(ctx context.Context) error {
	var errs []error
	if n.http != nil {
		if err := n.http.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("http shutdown: %w", err))
		}
	}
	if n.pub != nil {
		_ = n.pub.Close()
	}
	if n.ncAdmin != nil {
		n.ncAdmin.Close()
	}
	if n.deliv != nil {
		n.deliv.Stop()
	}
	if n.ingest != nil {
		if err := n.ingest.Stop(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if a := n.accessSvc(); a != nil {
		a.Close()
	}
	if n.integrity != nil {
		if err := n.integrity.Close(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if n.ncJS != nil {
		if n.js != nil {
			select {
			case <-n.js.PublishAsyncComplete():
			case <-ctx.Done():
			}
		}
		n.ncJS.Close()
	}
	if n.ncIn != nil {
		_ = n.ncIn.Flush()
		n.ncIn.Close()
	}
	if n.nats != nil {
		if err := n.nats.Shutdown(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
