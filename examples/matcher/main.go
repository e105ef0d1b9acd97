// Command matcher is the matching service matchwise receiving job ads by
// webhook. Its connector sidecar subscribes to the jobads dataset and POSTs
// every record here (see connector.yaml); matcher needs no kit and no NATS,
// only webhook.Verify to check the signature.
//
// It shows the three duties of a webhook receiver: verify
// X-Hub-Signature-256 over "<X-Hub-Timestamp>.<body>" before trusting a
// POST (401 otherwise, which the sidecar does not retry), deduplicate on
// X-Hub-Delivery because delivery is at least once (a retry after a lost
// answer carries the same delivery id), and answer 2xx only once the
// record is handled. It keeps the current ads in memory and prints one
// line per new delivery:
//
//	ad 22884504: Trafikledare sökes till … | occupation: Trafikledare, vägtrafik
//	removed 22884504
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/jobtech-dev/datahub/connector-kit/sink/webhook"
)

// envelope is the part of a delivered record the matcher reads.
type envelope struct {
	ID        string `json:"id"`
	Key       string `json:"key"`
	Tombstone bool   `json:"tombstone"`
	Data      ad     `json:"data"`
}

// ad is the part of a JobTech job ad the matcher indexes.
type ad struct {
	ID         string `json:"id"`
	Headline   string `json:"headline"`
	Occupation struct {
		ConceptID string `json:"concept_id"`
		Label     string `json:"label"`
	} `json:"occupation"`
}

// matcher holds the deliveries seen and the current ads. A real service
// keeps both in its database, in the transaction that handles the ad.
type matcher struct {
	secret []byte
	mu     sync.Mutex
	seen   map[string]bool
	ads    map[string]ad
}

func main() {
	listen := flag.String("listen", "127.0.0.1:8282", "address to receive webhooks on")
	secret := flag.String("secret", os.Getenv("MATCHER_SECRET"), "the webhook output's shared secret (default $MATCHER_SECRET)")
	flag.Parse()
	if *secret == "" {
		log.Fatal("matcher: --secret is required")
	}
	m := &matcher{secret: []byte(*secret), seen: map[string]bool{}, ads: map[string]ad{}}
	l, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("matcher listening on http://%s/hub/jobads\n", l.Addr())
	srv := &http.Server{Handler: m.routes(), ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.Serve(l))
}

func (m *matcher) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /hub/jobads", m.receive)
	return mux
}

// receive handles one webhook POST: a single envelope, or a JSON array of
// them when the output sets batch above 1.
func (m *matcher) receive(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 16<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
		return
	}
	err = webhook.Verify(m.secret, r.Header.Get(webhook.HeaderTimestamp), r.Header.Get(webhook.HeaderSignature), body, 5*time.Minute)
	if err != nil {
		log.Printf("refused a POST from %s: %v", r.RemoteAddr, err)
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	var envs []envelope
	if len(body) > 0 && body[0] == '[' {
		err = json.Unmarshal(body, &envs)
	} else {
		envs = make([]envelope, 1)
		err = json.Unmarshal(body, &envs[0])
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	delivery := r.Header.Get(webhook.HeaderDelivery)
	if err := m.handle(delivery, envs); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// handle indexes the records of one delivery, once per delivery id.
func (m *matcher) handle(delivery string, envs []envelope) error {
	if delivery == "" {
		return errors.New("no " + webhook.HeaderDelivery + " header")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.seen[delivery] {
		log.Printf("delivery %s seen before: ignored", delivery)
		return nil
	}
	m.seen[delivery] = true
	for _, e := range envs {
		if e.Tombstone {
			delete(m.ads, e.Key)
			fmt.Printf("removed %s\n", e.Key)
			continue
		}
		m.ads[e.Data.ID] = e.Data
		fmt.Printf("ad %s: %s | occupation: %s\n", e.Data.ID, e.Data.Headline, e.Data.Occupation.Label)
	}
	return nil
}
