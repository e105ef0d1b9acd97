// Command taxonomyfeed is the public employment service
// (arbetsformedlingen) publishing the JobTech Taxonomy to the
// taxonomy-concepts dataset with the Go connector kit, no sidecar.
//
// It shows kit.Dial with a credentials file, PublishBatch in chunks (the
// kit pipelines each chunk and checks every record against the dataset's
// schema before sending it), and idempotent publishing: the record id is
// the concept id, so a re-run within the dataset's dedupe window is
// answered "duplicate" and nothing is stored twice. Records that fail for
// a passing reason (hub unreachable, hub busy) are sent again with the
// same id. It prints one summary line:
//
//	taxonomy-concepts: 12496 concepts: 12496 stored, 0 duplicates, 0 rejected
//
// and each rejected concept on stderr; any rejection makes the exit status 1.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"time"

	"github.com/jobtech-dev/datahub/connector-kit/kit"
)

const dataset = "taxonomy-concepts"

// concept is one record of taxonomy-concepts: a taxonomy file entry with
// its map key as id.
type concept struct {
	ID                  string `json:"id"`
	Label               string `json:"label"`
	LegacyAmsTaxonomyID string `json:"legacyAmsTaxonomyId,omitempty"`
	Type                string `json:"type"`
}

// summary counts what happened to the concepts.
type summary struct{ stored, duplicates, rejected int }

func main() {
	hub := flag.String("hub", "nats://127.0.0.1:4222", "the hub's NATS URL")
	credentials := flag.String("credentials", "arbetsformedlingen.nk", "the actor's credentials file")
	file := flag.String("file", "taxonomy-concepts.json", "taxonomy file: {concept id: {label, legacyAmsTaxonomyId, type}}")
	limit := flag.Int("limit", 0, "publish only the first N concepts of the file (0: all)")
	chunk := flag.Int("chunk", 1000, "concepts per PublishBatch")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *hub, *credentials, *file, *limit, max(*chunk, 1)); err != nil {
		log.Fatal("taxonomyfeed: ", err)
	}
}

func run(ctx context.Context, hub, credentials, file string, limit, chunk int) error {
	concepts, err := readConcepts(file, limit)
	if err != nil {
		return err
	}
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	c, err := kit.Dial(dctx, hub, credentials, kit.WithName("taxonomyfeed"))
	cancel()
	if err != nil {
		return err
	}
	defer c.Close()

	var sum summary
	for start := 0; start < len(concepts); start += chunk {
		batch := make([]kit.BatchRecord, 0, chunk)
		for _, k := range concepts[start:min(start+chunk, len(concepts))] {
			data, err := json.Marshal(k)
			if err != nil {
				return err
			}
			batch = append(batch, kit.BatchRecord{ID: k.ID, Data: data})
		}
		if err := publish(ctx, c, batch, &sum); err != nil {
			return err
		}
	}
	fmt.Printf("%s: %d concepts: %d stored, %d duplicates, %d rejected\n", dataset, len(concepts), sum.stored, sum.duplicates, sum.rejected)
	if sum.rejected > 0 {
		return fmt.Errorf("%d concepts rejected", sum.rejected)
	}
	return nil
}

// publish sends one chunk, sending again (same ids: stored once) the
// records that failed for a passing reason, up to five attempts.
func publish(ctx context.Context, c *kit.Client, batch []kit.BatchRecord, sum *summary) error {
	for attempt := 1; len(batch) > 0; attempt++ {
		results, err := c.PublishBatch(ctx, dataset, batch)
		if err != nil {
			return err
		}
		var again []kit.BatchRecord
		for i, r := range results {
			var verr *kit.ValidationError
			switch {
			case r.Err == nil && r.Duplicate:
				sum.duplicates++
			case r.Err == nil:
				sum.stored++
			case kit.IsRetryable(r.Err) && attempt < 5:
				again = append(again, batch[i])
			case errors.As(r.Err, &verr):
				sum.rejected++
				log.Printf("concept %s rejected: %v", r.ID, r.Err)
			default: // forbidden, unknown dataset, hub gone for good
				return fmt.Errorf("concept %s: %w", r.ID, r.Err)
			}
		}
		if len(again) > 0 {
			log.Printf("%d concepts not stored yet (hub away?): sending again", len(again))
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Duration(attempt) * time.Second):
			}
		}
		batch = again
	}
	return nil
}

// readConcepts streams the taxonomy file's object in file order, so
// --limit N means the first N concepts of the file.
func readConcepts(file string, limit int) ([]concept, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	dec := json.NewDecoder(f)
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, fmt.Errorf("%s: want a JSON object of concepts", file)
	}
	var out []concept
	for dec.More() && (limit <= 0 || len(out) < limit) {
		t, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		k := concept{ID: t.(string)}
		if err := dec.Decode(&k); err != nil {
			return nil, fmt.Errorf("%s: concept %s: %w", file, k.ID, err)
		}
		k.ID = t.(string) // the map key wins over any id inside the entry
		out = append(out, k)
	}
	return out, nil
}
