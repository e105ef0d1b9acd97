package owners_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/jobtech-dev/datahub/hub/internal/hubtest"
	"github.com/jobtech-dev/datahub/hub/internal/owners"
)

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

// TestClaimIsAtomic: many claims of one new key at once, from two
// publishers and two views of the bucket (two nodes), have exactly one
// winner, and every view agrees on it.
func TestClaimIsAtomic(t *testing.T) {
	t.Parallel()
	n := hubtest.StartNew(t)
	a := n.Owners()
	b, err := owners.Open(ctx(t), n.JetStream(), 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	var mu sync.Mutex
	winners := map[string]int{}
	var wg sync.WaitGroup
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, pub := a, "arbetsformedlingen"
			if i%2 == 1 {
				st, pub = b, "jobbland"
			}
			owner, mine, err := st.Claim(ctx(t), "jobads", "race-1", "hub", pub)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			winners[owner.Publisher]++
			if mine != (owner.Publisher == pub) {
				t.Errorf("claim by %s: owner %s, mine %v", pub, owner, mine)
			}
		}()
	}
	wg.Wait()
	if len(winners) != 1 {
		t.Fatalf("owners seen: %v, want one", winners)
	}
	// A transfer through one view reaches the other through its watch.
	if _, _, err := a.Transfer(ctx(t), "jobads", "race-1", "hub", "jobfinder", "admin"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		o, mine, err := b.Claim(ctx(t), "jobads", "race-1", "hub", "jobfinder")
		if err == nil && mine && o.Publisher == "jobfinder" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the other view still says %v, %v, %v", o, mine, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Another origin's publisher of the same name is not the owner.
	if _, mine, _ := b.Claim(ctx(t), "jobads", "race-1", "peer-hub", "jobfinder"); mine {
		t.Fatal("a peer hub's jobfinder passed for this hub's")
	}
}

// TestKeysThatNeedEscaping: keys with characters a bucket key cannot hold
// are owned like any other, and never collide.
func TestKeysThatNeedEscaping(t *testing.T) {
	t.Parallel()
	n := hubtest.StartNew(t)
	st := n.Owners()
	for i, key := range []string{"a.b", "a~2Eb", "Malmö/1", "", "a=b", "*>"} {
		pub := []string{"p0", "p1", "p2", "p3", "p4", "p5"}[i]
		if _, mine, err := st.Claim(ctx(t), "jobads", key, "hub", pub); err != nil || !mine {
			t.Fatalf("claim %q: %v %v", key, mine, err)
		}
		if ko, err := st.Owner(ctx(t), "jobads", key); err != nil || ko.Publisher != pub || ko.Key != key {
			t.Fatalf("owner of %q: %+v %v", key, ko, err)
		}
	}
	if _, err := st.Owner(ctx(t), "jobads", "nobody"); err == nil {
		t.Fatal("owner of an unowned key")
	}
}
