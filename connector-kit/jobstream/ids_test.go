package jobstream_test

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/jobtech-dev/datahub/connector-kit/jobstream"
	"github.com/jobtech-dev/datahub/connector-kit/wire"
)

// TestAdIDs: in a publisher-scoped dataset the owner's ads keep their ids and
// every other publisher's ads and removals carry "<publisher>:"; only the id
// value changes, byte for byte elsewhere.
func TestAdIDs(t *testing.T) {
	ids := jobstream.For(wire.KeyScopePublisher, "arbetsformedlingen")
	ad := realAds(t)[0]
	at := time.Date(2024, 1, 15, 9, 30, 0, 0, time.UTC)
	env := func(publisher string, data []byte, tomb bool) wire.Envelope {
		return wire.Envelope{ID: "hub:" + publisher + ":r", Key: "22884504", Publisher: publisher, Data: data, Tombstone: tomb, PublishedAt: at}
	}
	got, err := ids.Ad(env("arbetsformedlingen", ad, false))
	if err != nil || !bytes.Equal(got, ad) {
		t.Fatalf("the owner's ad changed: %v", err)
	}
	got, err = ids.Ad(env("jobbland", ad, false))
	want := bytes.Replace(ad, []byte(`"id": "22884504"`), []byte(`"id": "jobbland:22884504"`), 1)
	if bytes.Equal(want, ad) {
		want = bytes.Replace(ad, []byte(`"id":"22884504"`), []byte(`"id":"jobbland:22884504"`), 1)
	}
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("another publisher's ad: %v\n got %.80s\nwant %.80s", err, got, want)
	}
	for _, tc := range []struct{ data, want string }{
		{`{ "headline" : "x", "id" : 8460292 , "n":1}`, `{ "headline" : "x", "id" : "jobbland:8460292" , "n":1}`},
		{`{"nested":{"id":"inner"},"id":"top"}`, `{"nested":{"id":"inner"},"id":"jobbland:top"}`},
		{`{"headline":"no id"}`, ``},
	} {
		got, err := ids.Ad(env("jobbland", []byte(tc.data), false))
		if tc.want == "" {
			if err == nil {
				t.Errorf("%s: no error for an ad without id", tc.data)
			}
			continue
		}
		if err != nil || string(got) != tc.want {
			t.Errorf("%s: got %s, %v; want %s", tc.data, got, err, tc.want)
		}
	}
	got, err = ids.Ad(env("jobbland", []byte(`{"id":"22884504","removed":true}`), true))
	var removal map[string]any
	if err != nil || json.Unmarshal(got, &removal) != nil || removal["id"] != "jobbland:22884504" || removal["removed"] != true {
		t.Fatalf("another publisher's removal: %s, %v", got, err)
	}
	// Owned keys: one id space, every ad as it is.
	if got, err := jobstream.For(wire.KeyScopeDataset, "arbetsformedlingen").Ad(env("jobbland", ad, false)); err != nil || !bytes.Equal(got, ad) {
		t.Fatalf("an ad of a dataset with owned keys changed: %v", err)
	}
	// WriteSnapshot with the ids: two publishers' ads 22884504, two ids.
	envs := func(yield func(wire.Envelope, error) bool) {
		_ = yield(env("arbetsformedlingen", ad, false), nil) && yield(env("jobbland", ad, false), nil)
	}
	var b bytes.Buffer
	if n, err := jobstream.WriteSnapshot(context.Background(), &b, envs, jobstream.WithAdIDs(ids)); err != nil || n != 2 {
		t.Fatal(n, err)
	}
	var arr []struct{ ID string }
	if err := json.Unmarshal(b.Bytes(), &arr); err != nil || arr[0].ID != "22884504" || arr[1].ID != "jobbland:22884504" {
		t.Fatalf("snapshot ids %+v, %v", arr, err)
	}
}
