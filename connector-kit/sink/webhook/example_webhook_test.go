package webhook_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"time"

	"github.com/jobtech-dev/datahub/connector-kit/plugin"
	"github.com/jobtech-dev/datahub/connector-kit/sink/webhook"
	"github.com/jobtech-dev/datahub/connector-kit/wire"
)

// This example runs both ends of a webhook: an actor's receiver that checks
// the signature and deduplicates on X-Hub-Delivery, and the "webhook" sink
// built from its YAML config the way the connector does.
func Example() {
	secret := []byte("change-me")
	seen := map[string]bool{}
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		err = webhook.Verify(secret, r.Header.Get(webhook.HeaderTimestamp), r.Header.Get(webhook.HeaderSignature), body, 5*time.Minute)
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized) // permanent: dead-lettered
			return
		}
		if id := r.Header.Get(webhook.HeaderDelivery); !seen[id] {
			seen[id] = true
			var env wire.Envelope
			if err := json.Unmarshal(body, &env); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			fmt.Printf("received %s from %s: %s\n", env.ID, env.Dataset, env.Data)
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer receiver.Close()

	env := plugin.NewEnvironment()
	if err := webhook.Register(env); err != nil {
		panic(err)
	}
	stateDir, err := os.MkdirTemp("", "webhook-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(stateDir)

	conf := fmt.Sprintf(`
url: %s/hub-records
secret: change-me
timeout: 5s
max_retries: 5
`, receiver.URL)
	sink, err := env.NewSink("webhook", []byte(conf), plugin.Resources{StateDir: stateDir})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	if err := sink.Connect(ctx); err != nil {
		panic(err)
	}
	defer sink.Close(ctx)

	ad := plugin.Record{Dataset: "job-ads", ID: "22884504", Data: json.RawMessage(`{"id":"22884504","headline":"Trafikledare"}`)}
	if err := sink.Write(ctx, ad); err != nil {
		panic(err)
	}
	fmt.Printf("%+v\n", sink.(*webhook.Sink).Stats())
	// Output:
	// received 22884504 from job-ads: {"id":"22884504","headline":"Trafikledare"}
	// {Delivered:1 Retried:0 DeadLettered:0}
}

// A receiver checks each POST with Verify before trusting it.
func ExampleVerify() {
	secret := []byte("change-me")
	body := []byte(`{"id":"1","dataset":"job-ads","data":{}}`)
	ts := fmt.Sprint(time.Now().Unix())
	sig := webhook.Sign(secret, ts, body) // what the sink sends as X-Hub-Signature-256

	fmt.Println(webhook.Verify(secret, ts, sig, body, 5*time.Minute))
	fmt.Println(webhook.Verify(secret, ts, sig, []byte(`{"id":"2"}`), 5*time.Minute))
	// Output:
	// <nil>
	// webhook: invalid signature: mismatch
}
