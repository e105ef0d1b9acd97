package kit_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jobtech-dev/datahub/connector-kit/kit"
)

// Dial connects as the actor whose credentials file `hub actor create`
// wrote; every call after it is authorized by the hub's sharing policies.
func ExampleDial() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := kit.Dial(ctx, "nats://127.0.0.1:4222", "jobbland.nk")
	if err != nil {
		fmt.Println("dial:", err)
		return
	}
	defer c.Close()
	names, err := c.Datasets(ctx)
	fmt.Println(names, err)
}

// Publish answers once the hub stored the record. Refusals are typed: match
// them with errors.Is and errors.As, never on the message.
func ExampleClient_Publish() {
	ctx := context.Background()
	c, err := kit.Dial(ctx, "nats://127.0.0.1:4222", "jobbland.nk")
	if err != nil {
		fmt.Println("dial:", err)
		return
	}
	defer c.Close()
	ad := []byte(`{"id":"jb-1001","headline":"Kock till Abisko","removed":false}`)
	id, err := c.Publish(ctx, "jobads", ad, kit.WithRecordID("jb-1001-v1"))
	var invalid *kit.ValidationError
	switch {
	case err == nil:
		fmt.Println("stored", id)
	case errors.As(err, &invalid):
		for _, v := range invalid.Violations {
			fmt.Println(v) // /headline: got number, want string (type)
		}
	case errors.Is(err, kit.ErrForbidden), errors.Is(err, kit.ErrUnknownDataset), errors.Is(err, kit.ErrConflict):
		fmt.Println("refused:", err)
	case kit.IsRetryable(err):
		// Send again with the same record id: it is stored once.
		fmt.Println("retry later:", err)
	}
}

// Subscribe delivers each record at least once, in order; returning nil
// acks it, an error has it delivered again after a backoff. A durable
// subscription resumes after the last acked record when the program
// starts again.
func ExampleClient_Subscribe() {
	ctx := context.Background()
	c, err := kit.Dial(ctx, "nats://127.0.0.1:4222", "matchwise.nk")
	if err != nil {
		fmt.Println("dial:", err)
		return
	}
	defer c.Close()
	sub, err := c.Subscribe(ctx, "jobads", func(ctx context.Context, d kit.Delivery) error {
		if d.Tombstone {
			fmt.Println("removed", d.Key)
			return nil
		}
		fmt.Println(d.Seq, d.Key, d.Publisher, len(d.Data))
		return nil
	}, kit.Durable("matcher"), kit.FromSnapshot())
	if err != nil {
		fmt.Println("subscribe:", err)
		return
	}
	defer sub.Stop()
}
