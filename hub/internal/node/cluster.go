package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jobtech-dev/datahub/hub/internal/access"
	"github.com/jobtech-dev/datahub/hub/internal/accessreq"
	"github.com/jobtech-dev/datahub/hub/internal/actors"
	"github.com/jobtech-dev/datahub/hub/internal/admintoken"
	"github.com/jobtech-dev/datahub/hub/internal/adopt"
	"github.com/jobtech-dev/datahub/hub/internal/api"
	"github.com/jobtech-dev/datahub/hub/internal/audit"
	"github.com/jobtech-dev/datahub/hub/internal/datasets"
	"github.com/jobtech-dev/datahub/hub/internal/federation"
	"github.com/jobtech-dev/datahub/hub/internal/integrity"
	"github.com/jobtech-dev/datahub/hub/internal/jobstore"
	"github.com/jobtech-dev/datahub/hub/internal/natsd"
	"github.com/jobtech-dev/datahub/hub/internal/owners"
	"github.com/jobtech-dev/datahub/hub/internal/redrive"
	"github.com/jobtech-dev/datahub/hub/internal/seen"
	"github.com/jobtech-dev/datahub/hub/internal/servertls"
	"github.com/jobtech-dev/datahub/hub/internal/store"
	"github.com/jobtech-dev/datahub/internal/secretfile"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
)

// ClusterBucket keeps what the nodes of a cluster agree on: when and how
// the cluster's hub state was created, and the anchor key every node signs
// the one audit chain with.
const ClusterBucket = "hub_cluster"

// stateKey holds the clusterState.
const stateKey = "state"

// exportDirName is the folder of the data dir a single hub's streams are
// exported to when it becomes a cluster node (see package adopt).
const exportDirName = "standalone-export"

// helloSubject is where the nodes ask each other what they are doing at
// start; actors can never reach hub.internal.>.
const helloSubject = "hub.internal.cluster.hello"

// MinClusterSecret is the shortest cluster secret accepted.
const MinClusterSecret = 16

// clusterState is created once per cluster, by the node that created the
// hub's state in it.
type clusterState struct {
	// Kind is "new" (a cluster that started empty) or "adopted" (the first
	// node brought the data of a hub that ran alone).
	Kind      string    `json:"kind"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
	// Export is the id of the adopted export (adopt.Manifest.ID).
	Export string `json:"export,omitempty"`
	// AnchorKey is the public key of the audit anchor key: every node must
	// sign with it, or the seals and checkpoints one node writes would not
	// verify on another.
	AnchorKey string `json:"anchor_key"`
}

// hello is a node's answer on helloSubject.
type hello struct {
	Node string `json:"node"`
	// Adopting says the node is bringing a single hub's data into the
	// cluster: the others wait for it before they create anything.
	Adopting bool `json:"adopting"`
}

// clusterConfig reads the cluster settings into the server's: the secret
// from its file and the route certificates.
func (n *Node) clusterConfig() (*natsd.ClusterConfig, error) {
	cfg := n.cfg
	if !cfg.Clustered() {
		return nil, nil
	}
	b, err := secretfile.Read(cfg.ClusterSecretFile, "cluster secret file", n.log)
	if err != nil {
		return nil, fmt.Errorf("cluster_secret_file: %w", err)
	}
	secret := strings.TrimSpace(string(b))
	if len(secret) < MinClusterSecret {
		return nil, fmt.Errorf("cluster_secret_file %s: the secret has %d characters, want at least %d (make one with `openssl rand -hex 32`)", cfg.ClusterSecretFile, len(secret), MinClusterSecret)
	}
	cc := &natsd.ClusterConfig{Name: cfg.ClusterNameOrDefault(), Listen: cfg.ClusterListen, Advertise: cfg.ClusterAdvertise, Routes: cfg.Routes, Secret: secret}
	if cfg.ClusterTLSCert != "" {
		p, err := servertls.LoadPeer(cfg.ClusterTLSCert, cfg.ClusterTLSKey, cfg.ClusterTLSCA, n.log)
		if err != nil {
			return nil, fmt.Errorf("cluster TLS: %w", err)
		}
		if cc.TLS, err = p.Config(); err != nil {
			return nil, fmt.Errorf("cluster TLS: %w", err)
		}
		n.peerTLS = p
	}
	return cc, nil
}

// adminToken is the admin API's token: from admin_token_file when given
// (the same on every node of a cluster; not rotated through the API), else
// the data dir's own, which `hub token rotate` replaces.
func (n *Node) adminToken() (*admintoken.Keeper, error) {
	if n.cfg.AdminTokenFile == "" {
		tok, err := admintoken.LoadOrCreate(n.cfg.Data)
		if err != nil {
			return nil, err
		}
		return admintoken.NewKeeper(n.cfg.Data, tok), nil
	}
	b, err := secretfile.Read(n.cfg.AdminTokenFile, "admin token file", n.log)
	if err != nil {
		return nil, fmt.Errorf("admin_token_file: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if len(tok) < MinClusterSecret {
		return nil, fmt.Errorf("admin_token_file %s: the token has %d characters, want at least %d (make one with `openssl rand -hex 32`)", n.cfg.AdminTokenFile, len(tok), MinClusterSecret)
	}
	return admintoken.NewFileKeeper(n.cfg.AdminTokenFile, tok), nil
}

// exportStandalone exports the streams of a data dir where a hub ran alone
// before it starts as a cluster node, and returns the export waiting to be
// imported (nil: none).
func (n *Node) exportStandalone(ctx context.Context) (*adopt.Manifest, error) {
	storeDir := filepath.Join(n.cfg.Data, "jetstream")
	dir := filepath.Join(n.cfg.Data, exportDirName)
	alone, err := adopt.Standalone(storeDir)
	if err != nil {
		return nil, err
	}
	if alone {
		n.log.Warn("this data dir holds a hub that ran alone: exporting its streams so the cluster can take them over", "data", n.cfg.Data, "export", dir)
		m, err := adopt.Export(ctx, storeDir, dir, n.log)
		if err != nil {
			return nil, fmt.Errorf("export the single hub's streams: %w", err)
		}
		aside := storeDir + "-standalone-" + m.ID
		if err := os.Rename(storeDir, aside); err != nil {
			return nil, fmt.Errorf("move the single hub's JetStream files aside: %w", err)
		}
		n.log.Warn("the single hub's JetStream files are kept as they were; remove them once the cluster serves every record", "kept", aside)
	}
	return adopt.ReadManifest(dir)
}

// startHello answers the other nodes' question at start: is this node
// bringing a single hub's data?
func (n *Node) startHello() error {
	sub, err := n.ncIn.Subscribe(helloSubject, func(m *nats.Msg) {
		b, _ := json.Marshal(hello{Node: n.cfg.Node(), Adopting: n.adopting.Load()})
		_ = m.Respond(b)
	})
	if err != nil {
		return fmt.Errorf("subscribe %s: %w", helloSubject, err)
	}
	n.helloSub = sub
	return n.ncIn.Flush()
}

// waitQuorum waits until JetStream has a leader this node is current with,
// saying every ten seconds what it waits for.
func (n *Node) waitQuorum(ctx context.Context) error {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	began, said := time.Now(), time.Now()
	for {
		st := n.nats.Cluster()
		if st.Quorum {
			if _, err := n.js.AccountInfo(ctx); err == nil {
				n.log.Info("cluster joined", "cluster", st.Name, "node", st.Node, "leader", st.Leader, "nodes", st.Size, "routed_to", st.Routed)
				return nil
			}
		}
		if time.Since(said) >= 10*time.Second {
			said = time.Now()
			n.log.Warn("waiting for the cluster: JetStream elects a leader once a majority of the nodes is up (a new cluster: every node in routes, the first time)",
				"routed_to", st.Routed, "routes", n.cfg.Routes, "waited", time.Since(began).Round(time.Second).String())
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("no JetStream quorum in the cluster after %s (routed to %v; routes %v): %w",
				time.Since(began).Round(time.Second), st.Routed, n.cfg.Routes, ctx.Err())
		case <-tick.C:
		}
	}
}

// onlineNodes is how many nodes JetStream can place copies on now.
func (n *Node) onlineNodes() int {
	st := n.nats.Cluster()
	names := map[string]bool{st.Node: true}
	if st.Leader != "" {
		names[st.Leader] = true
	}
	for _, p := range st.Peers {
		if !p.Offline {
			names[p.Name] = true
		}
	}
	return len(names)
}

// replicas is how many copies a stream that should have want gets now:
// want, or the nodes online when fewer (the reconciler raises it as nodes
// join), and never fewer than the stream already has.
//
// It also lets the leading node create a stream first when the nodes of a
// new cluster start together: JetStream leaves the second of two creates of
// the same stream crossing each other unanswered, so a node that does not
// lead waits a moment for the stream to exist and then only updates it.
func (n *Node) replicas(ctx context.Context, stream string, want int) int {
	if !n.cfg.Clustered() {
		return 1
	}
	if !n.leads() {
		deadline := time.Now().Add(3 * time.Second)
		for time.Now().Before(deadline) && ctx.Err() == nil {
			if _, err := n.js.Stream(ctx, stream); err == nil || !errors.Is(err, jetstream.ErrStreamNotFound) {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	r := max(1, min(want, n.onlineNodes()))
	return store.KeepReplicas(ctx, n.js, stream, r)
}

// joinCluster makes sure the cluster holds the hub's state before this
// node creates or changes any of it: the node that brings a single hub's
// data imports it first; a new node waits for such a node; the first node
// of a new cluster records that it created it. It also checks that this
// node signs the audit chain with the cluster's anchor key.
func (n *Node) joinCluster(ctx context.Context, m *adopt.Manifest, anchorKey string) error {
	var kv jetstream.KeyValue
	var st *clusterState
	if err := n.retry(ctx, "cluster state", func(ctx context.Context) (err error) {
		kv, err = n.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: ClusterBucket, Description: "how the cluster's hub state was created",
			Storage: jetstream.FileStorage, History: 5, Replicas: n.replicas(ctx, "KV_"+ClusterBucket, n.cfg.DefaultReplicas())})
		if err != nil {
			return fmt.Errorf("open %s bucket: %w", ClusterBucket, err)
		}
		st, err = readState(ctx, kv)
		return err
	}); err != nil {
		return err
	}
	dir := filepath.Join(n.cfg.Data, exportDirName)
	switch {
	case m != nil && st != nil && st.Export != m.ID:
		return fmt.Errorf("this data dir holds the records of a hub that ran alone (exported to %s), but the cluster it joins was started by %s at %s without them (%s): "+
			"to keep the cluster as it is, move this data dir away and start this node with an empty one; to make this hub's records the cluster's, stop the other nodes, "+
			"empty their data dirs and start this node first: %w", dir, st.CreatedBy, st.CreatedAt.Format(time.RFC3339), st.Kind, adopt.ErrConflict)
	case m != nil:
		if st == nil {
			n.log.Warn("bringing the single hub's streams into the cluster", "streams", len(m.Streams), "export", dir)
			if err := adopt.Import(ctx, n.ncJS, m, dir, n.log); err != nil {
				return fmt.Errorf("import the single hub's streams into the cluster (the export in %s is kept; start again to retry): %w", dir, err)
			}
			st = &clusterState{Kind: "adopted", CreatedBy: n.cfg.Node(), CreatedAt: time.Now().UTC(), Export: m.ID, AnchorKey: anchorKey}
			if err := n.retry(ctx, "record the cluster's state", func(ctx context.Context) error { _, err := createState(ctx, kv, st); return err }); err != nil {
				return err
			}
		}
		n.adopting.Store(false)
		if err := os.RemoveAll(dir); err != nil {
			n.log.Warn("remove the imported export", "dir", dir, "err", err)
		}
		n.log.Info("the single hub's streams are the cluster's now", "streams", len(m.Streams))
	case st == nil:
		var err error
		if st, err = n.createOrWait(ctx, kv, anchorKey); err != nil {
			return err
		}
	}
	if st.AnchorKey != "" && st.AnchorKey != anchorKey {
		return fmt.Errorf("audit_anchor_key: this node's anchor key %s is not the cluster's %s: every node signs the one audit chain with the same key; copy the cluster's anchor key file to this node (it is a secret: keep it 0600)", anchorKey, st.AnchorKey)
	}
	return nil
}

// createOrWait, on a cluster with no hub state yet, waits for a node that
// brings a single hub's data, or records that the cluster starts empty.
func (n *Node) createOrWait(ctx context.Context, kv jetstream.KeyValue, anchorKey string) (*clusterState, error) {
	said := time.Time{}
	for {
		adopting, err := n.askPeers(ctx)
		if err != nil {
			return nil, err
		}
		var st *clusterState
		if err := n.retry(ctx, "read the cluster's state", func(ctx context.Context) (err error) { st, err = readState(ctx, kv); return err }); err != nil || st != nil {
			return st, err
		}
		if len(adopting) == 0 {
			st = &clusterState{Kind: "new", CreatedBy: n.cfg.Node(), CreatedAt: time.Now().UTC(), AnchorKey: anchorKey}
			created := false
			if err := n.retry(ctx, "record the cluster's state", func(ctx context.Context) (err error) {
				created, err = createState(ctx, kv, st)
				return err
			}); err != nil {
				return nil, err
			}
			if created {
				return st, nil
			}
			// Another node was first: read what it recorded (a read may
			// come from a copy that has not seen it yet).
			continue
		}
		if time.Since(said) > 10*time.Second {
			said = time.Now()
			n.log.Warn("waiting for another node to bring a single hub's records into the cluster", "nodes", adopting)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for %v to bring a single hub's records into the cluster: %w", adopting, ctx.Err())
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// askPeers asks every node this one has a route to whether it is adopting
// a single hub's data, and names those that are. It waits (up to 5 s) for
// each of them to answer.
func (n *Node) askPeers(ctx context.Context) ([]string, error) {
	inbox := n.ncIn.NewInbox()
	replies := make(chan *nats.Msg, 64)
	sub, err := n.ncIn.ChanSubscribe(inbox, replies)
	if err != nil {
		return nil, err
	}
	defer sub.Unsubscribe()
	if err := n.ncIn.PublishRequest(helloSubject, inbox, nil); err != nil {
		return nil, err
	}
	want := map[string]bool{}
	for _, r := range n.nats.RoutedNodes() {
		want[r] = true
	}
	heard := map[string]bool{n.cfg.Node(): true}
	var adopting []string
	deadline := time.After(5 * time.Second)
	for {
		missing := false
		for w := range want {
			if !heard[w] {
				missing = true
			}
		}
		if !missing {
			break
		}
		select {
		case m := <-replies:
			var h hello
			if json.Unmarshal(m.Data, &h) == nil && h.Node != "" {
				heard[h.Node] = true
				if h.Adopting && h.Node != n.cfg.Node() {
					adopting = append(adopting, h.Node)
				}
			}
		case <-deadline:
			var silent []string
			for w := range want {
				if !heard[w] {
					silent = append(silent, w)
				}
			}
			sort.Strings(silent)
			n.log.Warn("nodes did not say whether they bring a single hub's data; going on without them", "nodes", silent)
			return adopting, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return adopting, nil
}

func readState(ctx context.Context, kv jetstream.KeyValue) (*clusterState, error) {
	e, err := kv.Get(ctx, stateKey)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the cluster's state: %w", err)
	}
	var st clusterState
	if err := json.Unmarshal(e.Value(), &st); err != nil {
		return nil, fmt.Errorf("decode the cluster's state: %w", err)
	}
	return &st, nil
}

// createState records st unless a state exists already (another node was
// first: that one holds); it reports whether it recorded st.
func createState(ctx context.Context, kv jetstream.KeyValue, st *clusterState) (bool, error) {
	b, _ := json.Marshal(st)
	_, err := kv.Create(ctx, stateKey, b)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, jetstream.ErrKeyExists):
		return false, nil
	default:
		return false, fmt.Errorf("record the cluster's state: %w", err)
	}
}

// leads reports whether this node leads JetStream's meta group: it then
// does the work that time alone triggers, once for the cluster.
func (n *Node) leads() bool { return n.nats.NATS().JetStreamIsLeader() }

// actorRemoved tells access about an actor revoked through any node.
func (n *Node) actorRemoved(a actors.Actor) {
	if acc := n.accessSvc(); acc != nil {
		acc.ActorRemoved(a)
	}
}

// hubStreams are the streams the hub keeps, each with the copies it wants.
func (n *Node) hubStreams() map[string]int {
	def := n.cfg.DefaultReplicas()
	out := map[string]int{
		wire.DeadLetterStream:       def,
		audit.StreamName:            def,
		"KV_" + actors.Bucket:       def,
		"KV_" + access.PolicyBucket: def,
		"KV_" + ClusterBucket:       def,
		"KV_" + owners.Bucket:       def,
		"KV_" + integrity.Bucket:    def,
		"KV_" + datasets.Bucket:     def,
		"KV_" + federation.Bucket:   def,
		seen.Stream:                 def,
		"KV_" + jobstore.Bucket:     def,
		"KV_" + accessreq.Bucket:    def,
		"KV_" + redrive.Bucket:      def,
	}
	for _, d := range n.reg.List() {
		want := def
		if d.Replicas > 0 {
			want = d.Replicas
		}
		out[wire.StreamName(d.Name)] = want
	}
	return out
}

// reconcileReplicas raises each hub stream to the copies it wants as far
// as the nodes online allow; it never lowers one (a node down for a while
// must find its copies waiting to catch up, not removed).
func (n *Node) reconcileReplicas(ctx context.Context) {
	online := n.onlineNodes()
	for name, want := range n.hubStreams() {
		target := min(want, online)
		s, err := n.js.Stream(ctx, name)
		if err != nil {
			continue
		}
		info := s.CachedInfo()
		if info.Config.Replicas >= target {
			continue
		}
		cfg := info.Config
		from := cfg.Replicas
		cfg.Replicas = target
		if _, err := n.js.UpdateStream(ctx, cfg); err != nil {
			n.log.Warn("raise a stream's copies", "stream", name, "from", from, "to", target, "err", err)
			continue
		}
		n.log.Info("stream copies raised", "stream", name, "from", from, "to", target, "nodes_online", online)
	}
}

// replicaLoop keeps reconciling the replicas while the node runs.
type replicaLoop struct {
	stop   chan struct{}
	cancel context.CancelFunc // cuts a reconciliation in flight
	wg     sync.WaitGroup
}

func (n *Node) startReplicaLoop() {
	ctx, cancel := context.WithCancel(n.life)
	l := &replicaLoop{stop: make(chan struct{}), cancel: cancel}
	n.replLoop = l
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		t := time.NewTicker(5 * time.Second)
		defer t.Stop()
		for {
			if n.leads() {
				rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
				n.reconcileReplicas(rctx)
				cancel()
			}
			select {
			case <-l.stop:
				return
			case <-t.C:
			}
		}
	}()
}

func (l *replicaLoop) close() {
	if l == nil {
		return
	}
	close(l.stop)
	l.cancel()
	l.wg.Wait()
}

// Cluster is the cluster's state as this node sees it.
func (n *Node) Cluster() natsd.ClusterState { return n.nats.Cluster() }

// clusterHealth is what the health check says of the cluster: nil on a
// single hub.
func (n *Node) clusterHealth() *api.ClusterHealth {
	if !n.nats.Clustered() {
		return nil
	}
	h := &api.ClusterHealth{ClusterState: n.nats.Cluster()}
	if !h.Quorum {
		return h
	}
	ctx, cancel := context.WithTimeout(n.life, 2*time.Second)
	defer cancel()
	h.Streams = map[string]api.StreamHealth{}
	for name := range n.hubStreams() {
		s, err := n.js.Stream(ctx, name)
		if err != nil {
			continue
		}
		info := s.CachedInfo()
		sh := api.StreamHealth{Replicas: info.Config.Replicas}
		if c := info.Cluster; c != nil {
			sh.Leader = c.Leader
			for _, r := range c.Replicas {
				if r == nil {
					continue
				}
				if r.Offline {
					sh.Offline = append(sh.Offline, r.Name)
				} else if !r.Current || r.Lag > 0 {
					if sh.Lagging == nil {
						sh.Lagging = map[string]uint64{}
					}
					sh.Lagging[r.Name] = r.Lag
				}
			}
		}
		h.Streams[name] = sh
	}
	return h
}

// handOver, on a cluster node that stops, sends its actors to the other
// nodes first: their connections are cut while this node still answers,
// so their clients reconnect elsewhere (the cluster told them of the other
// nodes) and send again what was in flight, instead of waiting on a node
// that is going away. The streams' leadership moves when the server stops
// (natsd.Server.Shutdown).
func (n *Node) handOver() {
	if n.nats == nil || !n.nats.Clustered() {
		return
	}
	if cut := n.nats.Kick(""); cut > 0 {
		n.log.Info("node stopping: its actors' connections are cut so they move to the other nodes", "connections", cut)
	}
}
