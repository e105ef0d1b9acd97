// Command jobboard is the job board jobbland sharing its ads through its
// connector sidecar. It shows what an application in any language does: it
// speaks plain HTTP and JSON to the sidecar's local API and never touches
// NATS, keys or schemas itself.
//
// It POSTs an NDJSON file of ads as one batch (Content-Type
// application/x-ndjson: one result per line), then, for each --remove id,
// one JobStream tombstone as a single record (application/json). It prints
// one line per record with the record id the hub will keep it under:
//
//	ad 22884504: stored id=019ac2… seq=1
//	removed 22884504: stored id=019ac2… seq=4
//
// "queued" instead of "stored" means the hub is away: the sidecar holds the
// record in its outbox and forwards it later. Any rejected record makes the
// exit status 1.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

// result is the sidecar's answer for one record.
type result struct {
	Line   int    `json:"line"`
	ID     string `json:"id"`
	Status string `json:"status"` // stored, duplicate, queued, rejected, forbidden
	Seq    uint64 `json:"seq"`
	Error  string `json:"error"`
}

// problem is an RFC 9457 error answer of the sidecar.
type problem struct {
	Title      string      `json:"title"`
	Detail     string      `json:"detail"`
	Violations []violation `json:"violations"`
	Lines      []struct {
		Line       int         `json:"line"`
		Error      string      `json:"error"`
		Violations []violation `json:"violations"`
	} `json:"lines"`
}

// violation is one way a record fails its dataset's schema.
type violation struct {
	Pointer string `json:"pointer"`
	Message string `json:"message"`
}

func main() {
	sidecar := flag.String("sidecar", "http://127.0.0.1:8181", "the connector sidecar's local API")
	file := flag.String("file", "job-ads.ndjson", "NDJSON file of job ads, one per line")
	remove := flag.String("remove", "", "comma-separated ad ids to remove (JobStream tombstones) after publishing")
	flag.Parse()
	if err := run(*sidecar, *file, *remove); err != nil {
		fmt.Fprintln(os.Stderr, "jobboard:", err)
		os.Exit(1)
	}
}

func run(sidecar, file, remove string) error {
	body, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	url := strings.TrimSuffix(sidecar, "/") + "/v1/datasets/jobads/records"
	client := &http.Client{Timeout: 30 * time.Second}

	// The batch: one POST, one result per line, in order.
	var batch struct {
		Results []result `json:"results"`
	}
	if err := post(client, url, "application/x-ndjson", body, &batch); err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	lines := bytes.Split(body, []byte("\n"))
	var errs []error
	for _, r := range batch.Results {
		var ad struct {
			ID string `json:"id"`
		}
		_ = json.Unmarshal(lines[r.Line-1], &ad)
		errs = append(errs, report("ad "+ad.ID, r))
	}

	// Removing an ad publishes a tombstone for its id: the hub ends the key.
	for id := range strings.SplitSeq(remove, ",") {
		if id = strings.TrimSpace(id); id == "" {
			continue
		}
		tomb, _ := json.Marshal(map[string]any{"id": id, "removed": true, "removed_date": time.Now().UTC().Format("2006-01-02T15:04:05")})
		var r result
		if err := post(client, url, "application/json", tomb, &r); err != nil {
			return fmt.Errorf("remove %s: %w", id, err)
		}
		errs = append(errs, report("removed "+id, r))
	}
	return errors.Join(errs...)
}

// report prints one record's fate and returns an error if it was refused.
func report(what string, r result) error {
	switch r.Status {
	case "stored", "duplicate", "queued":
		fmt.Printf("%s: %s id=%s seq=%d\n", what, r.Status, r.ID, r.Seq)
		return nil
	}
	fmt.Printf("%s: %s: %s\n", what, r.Status, r.Error)
	return fmt.Errorf("%s: %s", what, r.Status)
}

// post sends body and decodes the answer into out; a problem document
// (RFC 9457) is returned as the error.
func post(client *http.Client, url, contentType string, body []byte, out any) error {
	resp, err := client.Post(url, contentType, bytes.NewReader(body))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	var p problem
	if resp.StatusCode/100 == 2 || json.Unmarshal(b, &p) != nil || p.Title == "" {
		// 2xx, or a batch the hub refused lines of (422 with per-line
		// results): the results say what happened to each record.
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(b))
		}
		return nil
	}
	msg := fmt.Sprintf("%s: %s", resp.Status, p.Title)
	if p.Detail != "" {
		msg += ": " + p.Detail
	}
	for _, v := range p.Violations {
		msg += fmt.Sprintf("\n  %s: %s", v.Pointer, v.Message)
	}
	for _, l := range p.Lines {
		msg += fmt.Sprintf("\n  line %d: %s", l.Line, l.Error)
		for _, v := range l.Violations {
			msg += fmt.Sprintf("\n    %s: %s", v.Pointer, v.Message)
		}
	}
	return errors.New(msg)
}
