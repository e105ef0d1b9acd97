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

// RegisterSchema registers the next version of a dataset's schema, for an
// actor the policies give register-schema; a version that breaks the
// dataset's compatibility mode is refused with every breaking change.
// Publishers then pin the version they write to, or follow the latest.
func ExampleClient_RegisterSchema() {
	ctx := context.Background()
	c, err := kit.Dial(ctx, "nats://127.0.0.1:4222", "arbetsformedlingen.nk")
	if err != nil {
		fmt.Println("dial:", err)
		return
	}
	defer c.Close()
	doc := []byte(`{"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object", "required": ["id"]}`)
	reg, err := c.RegisterSchema(ctx, "jobads", doc)
	var incompatible *kit.IncompatibleError
	switch {
	case errors.As(err, &incompatible) && incompatible.Report != nil:
		for _, ch := range incompatible.Report.Breaking {
			fmt.Println(ch.Breaks, ch.Type, ch.NewPointer, ch.Message)
		}
		return
	case err != nil:
		fmt.Println("refused:", err)
		return
	}
	fmt.Println("registered version", reg.Version)
	ad := []byte(`{"id":"af-1"}`)
	_, err = c.Publish(ctx, "jobads", ad, kit.WithSchemaVersion(reg.Version))
	fmt.Println(err)
}
