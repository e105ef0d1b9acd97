package adopt_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/jobtech-dev/datahub/hub/internal/adopt"
	"github.com/jobtech-dev/datahub/hub/internal/natsd"
)

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestStandaloneStreamsMoveIntoACluster writes records and a consumer's
// position on a server that runs alone, exports them, and imports them into
// a two-node cluster: same records, sequences, times and consumer position.
func TestStandaloneStreamsMoveIntoACluster(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	data := t.TempDir()
	store := filepath.Join(data, "jetstream")
	alone, err := natsd.Start(ctx, natsd.Config{Name: "hub", StoreDir: store, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	nc, err := alone.Connect("test")
	if err != nil {
		t.Fatal(err)
	}
	js, _ := jetstream.New(nc)
	s, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "DS_x", Subjects: []string{"data.x.>"}, Duplicates: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	const n = 500
	var times []time.Time
	for i := range n {
		if _, err := js.Publish(ctx, fmt.Sprintf("data.x.k%d", i%50), []byte(fmt.Sprintf(`{"i":%d}`, i)), jetstream.WithMsgID(fmt.Sprint("id-", i))); err != nil {
			t.Fatal(err)
		}
	}
	for seq := uint64(1); seq <= n; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		times = append(times, m.Time)
	}
	c, err := s.CreateConsumer(ctx, jetstream.ConsumerConfig{Durable: "reader", AckPolicy: jetstream.AckExplicitPolicy})
	if err != nil {
		t.Fatal(err)
	}
	batch, err := c.Fetch(120, jetstream.FetchMaxWait(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	acked := 0
	for m := range batch.Messages() {
		if err := m.DoubleAck(ctx); err != nil {
			t.Fatal(err)
		}
		acked++
	}
	nc.Close()
	if err := alone.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if ok, err := adopt.Standalone(store); !ok || err != nil {
		t.Fatalf("Standalone = %v, %v on a single server's store", ok, err)
	}

	exp := filepath.Join(data, "export")
	m, err := adopt.Export(ctx, store, exp, quiet())
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Streams) != 1 || m.Streams[0].Msgs != n || m.Streams[0].LastSeq != n {
		t.Fatalf("manifest %+v", m.Streams)
	}
	if again, err := adopt.ReadManifest(exp); err != nil || again == nil || again.ID != m.ID {
		t.Fatalf("ReadManifest = %+v, %v", again, err)
	}

	// A two-node cluster on fresh folders takes the export.
	a1, a2 := freeAddr(t), freeAddr(t)
	nodes := make([]*natsd.Server, 2)
	errs := make(chan error, 2)
	for i, addr := range []string{a1, a2} {
		go func(i int, addr string) {
			s, err := natsd.Start(ctx, natsd.Config{Name: fmt.Sprint("n", i+1), StoreDir: t.TempDir(), Logger: quiet(),
				Cluster: &natsd.ClusterConfig{Name: "c", Listen: addr, Routes: []string{a1, a2}, Secret: "s"}})
			nodes[i] = s
			errs <- err
		}(i, addr)
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range nodes {
		t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	}
	for !nodes[0].Cluster().Quorum {
		if ctx.Err() != nil {
			t.Fatal("no quorum")
		}
		time.Sleep(20 * time.Millisecond)
	}
	cn, err := nodes[0].Connect("import")
	if err != nil {
		t.Fatal(err)
	}
	defer cn.Close()
	if err := adopt.Import(ctx, cn, m, exp, quiet()); err != nil {
		t.Fatal(err)
	}
	// Running it again (an interrupted start) changes nothing.
	if err := adopt.Import(ctx, cn, m, exp, quiet()); err != nil {
		t.Fatalf("second import: %v", err)
	}
	cjs, _ := jetstream.New(cn)
	cs, err := cjs.Stream(ctx, "DS_x")
	if err != nil {
		t.Fatal(err)
	}
	info, _ := cs.Info(ctx)
	if info.State.Msgs != n || info.State.LastSeq != n {
		t.Fatalf("restored state %+v", info.State)
	}
	for _, seq := range []uint64{1, 250, n} {
		msg, err := cs.GetMsg(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf(`{"i":%d}`, seq-1); string(msg.Data) != want || !msg.Time.Equal(times[seq-1]) {
			t.Fatalf("seq %d: %s at %s, want %s at %s", seq, msg.Data, msg.Time, want, times[seq-1])
		}
	}
	// The consumer came along with its position.
	var ci *jetstream.ConsumerInfo
	for ctx.Err() == nil {
		if cons, err := cs.Consumer(ctx, "reader"); err == nil {
			if ci, err = cons.Info(ctx); err == nil {
				break
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	if ci == nil || ci.AckFloor.Stream != uint64(acked) {
		t.Fatalf("consumer after import: %+v (want ack floor %d)", ci, acked)
	}
	// A dedupe window that came along: the same record id is a duplicate.
	ack, err := cjs.Publish(ctx, "data.x.k1", []byte(`{}`), jetstream.WithMsgID("id-7"))
	if err != nil || !ack.Duplicate {
		t.Fatalf("republished id-7: %+v %v, want a duplicate", ack, err)
	}
	// A stream with other records is a conflict, never overwritten.
	m.Streams[0].LastSeq++
	if err := adopt.Import(ctx, cn, m, exp, quiet()); !errors.Is(err, adopt.ErrConflict) {
		t.Fatalf("import over other records: %v, want ErrConflict", err)
	}
	// A damaged snapshot file is refused.
	m.Streams[0].Name = "DS_y"
	_ = os.WriteFile(filepath.Join(exp, m.Streams[0].File), []byte("damaged"), 0o600)
	if err := adopt.Import(ctx, cn, m, exp, quiet()); err == nil {
		t.Fatal("a damaged snapshot was imported")
	}
}
