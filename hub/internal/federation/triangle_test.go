package federation_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jobtech-dev/datahub/connector-kit/kit"
)

// A triangle of three hubs, each publishing, each taking jobads from both
// others and passing on what it took (--forward): every record reaches
// every hub by two paths, and each hub stores it exactly once, none echoed
// back to where it was. Then the link b←a is cut for longer than the
// dataset's dedupe window (1s here): b gets a's records by way of c
// meanwhile, and when the link comes back a's direct copies, now older
// than the window, are still recognised (the seen-set).
func TestTriangleStoresEveryRecordOnceEverywhere(t *testing.T) {
	t.Parallel()
	shortWindow := schemasWith(t, func(_ string, y string) string {
		return strings.Replace(y, "dedupe_window: 1h", "dedupe_window: 1s", 1)
	}, nil)
	names := []string{"a", "b", "c"}
	hubs := map[string]*hub{}
	for _, n := range names {
		peers := map[string][]string{}
		for _, o := range names {
			if o != n {
				peers[o] = []string{"jobads"}
			}
		}
		hubs[n] = startHub(t, n, grants(peers), "--schemas", shortWindow)
	}
	// b takes from a through a proxy the test can cut.
	px := newProxy(t, natsAddr(hubs["a"].NATSURL()))
	for _, giver := range names {
		for _, taker := range names {
			if giver == taker {
				continue
			}
			url := hubs[giver].NATSURL()
			if giver == "a" && taker == "b" {
				url = px.URL()
			}
			hubs[taker].take(giver, url, hubs[giver].give(taker), []string{"jobads"}, "--forward", "--rate", "0")
		}
	}
	actors := map[string]*kit.Client{}
	for _, n := range names {
		actors[n] = hubs[n].actor()
	}
	n := 30
	if soak() {
		n = 2000
	}
	var want []string
	round := func(tag string) {
		for _, h := range names {
			want = append(want, publish(t, actors[h], "jobads", tag+h+"-", ads(tag+h+"-", n))...)
		}
	}
	settled := func(what string) {
		for _, h := range names {
			eventually(t, 120*time.Second, what+" on "+h, func() (bool, string) { return exactlyOnce(hubs[h], "jobads", want) })
		}
	}
	round("one-")
	settled("every record once")
	for _, h := range names {
		for _, e := range hubs[h].records("jobads") {
			if e.Origin == h && len(e.Path) != 0 {
				t.Errorf("%s holds its own record %s as federated (path %v): an echo", h, e.ID, e.Path)
			}
			if e.Origin != h && (len(e.Path) < 2 || e.Path[0] != e.Origin || e.Path[len(e.Path)-1] != h) {
				t.Errorf("%s holds %s with path %v", h, e.ID, e.Path)
			}
		}
	}

	// The link b←a down for three dedupe windows.
	px.setCut(true)
	round("two-")
	eventually(t, 60*time.Second, "a's new records on b by way of c", func() (bool, string) {
		n := 0
		for _, e := range hubs["b"].records("jobads") {
			if e.Origin == "a" && strings.HasPrefix(e.RecordID, "two-") {
				n++
			}
		}
		return n == len(want)/6, fmt.Sprintf("%d", n)
	})
	time.Sleep(3 * time.Second)
	px.setCut(false)
	eventually(t, 60*time.Second, "b's link to a caught up", func() (bool, string) {
		for _, p := range hubs["b"].peers() {
			if p.Name == "a" && p.Link != nil {
				d := p.Link.Status.Datasets[0]
				return p.Link.Status.State == "connected" && d.LagRecords == 0 && d.LastSeq >= uint64(len(want)), fmt.Sprintf("%+v %+v", p.Link.Status.State, d)
			}
		}
		return false, "no link"
	})
	settled("every record once after the long cut")
	var dups uint64
	for _, p := range hubs["b"].peers() {
		if p.Name == "a" && p.Link != nil {
			dups = p.Link.Status.Datasets[0].Duplicates
		}
	}
	if dups < uint64(n) {
		t.Errorf("b's link to a counted %d duplicates after the cut, want at least the %d records of a that came by way of c", dups, n)
	}
}
