package outbox_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/jobtech-dev/datahub/connector-kit/internal/outbox"
)

// A sidecar appends what applications POST and answers once Append returns;
// a forwarder sends records on in order, acks what the hub stored and
// rewinds when a send fails.
func Example() {
	dir, err := os.MkdirTemp("", "outbox")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	ob, err := outbox.Open(dir)
	if err != nil {
		log.Fatal(err)
	}
	defer ob.Close()

	ctx := context.Background()
	for _, id := range []string{"ad-1", "ad-2", "ad-3"} {
		if _, err := ob.Append(ctx, outbox.Entry{Dataset: "job-ads", ID: id, Data: []byte(`{}`)}); err != nil {
			log.Fatal(err)
		}
	}

	hubDown := true
	for {
		if n, _ := ob.Pending(); n == 0 {
			break
		}
		it, err := ob.Next(ctx)
		if err != nil {
			log.Fatal(err)
		}
		if it.ID == "ad-2" && hubDown { // the send fails once
			hubDown = false
			fmt.Println("send failed:", it.Seq, it.ID)
			ob.Rewind()
			continue
		}
		fmt.Println("sent:", it.Seq, it.ID)
		if err := ob.Ack(it.Seq); err != nil {
			log.Fatal(err)
		}
	}
	// Output:
	// sent: 1 ad-1
	// send failed: 2 ad-2
	// sent: 2 ad-2
	// sent: 3 ad-3
}
