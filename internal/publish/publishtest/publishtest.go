// Package publishtest drives a publish.Publisher as the benchmarks measure
// the hub's own ingest: records sent as fast as the publisher's window lets,
// every answer awaited and required to be "stored". One loop for every
// benchmark that compares something with the hub's ingest rate, so the
// figures they print measure the same thing.
package publishtest

import (
	"context"
	"fmt"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/internal/publish"
)

// StoreAll sends count records to dataset through p, record(i) giving the
// i-th record and its id, and returns once every answer is in: an error
// for the first send that failed or the first record not stored.
func StoreAll(ctx context.Context, p *publish.Publisher, dataset string, count int, record func(i int) (data []byte, id string)) error {
	futs := make(chan *publish.Future, 2048)
	errc := make(chan error, 1)
	go func() {
		defer close(errc)
		for f := range futs {
			if r, err := f.Result(ctx); err != nil || r.Status != wire.StatusStored {
				errc <- fmt.Errorf("record not stored: %+v %v", r, err)
				for range futs { // let the sender finish
				}
				return
			}
		}
	}()
	var sendErr error
	for i := range count {
		data, id := record(i)
		f, err := p.Send(ctx, dataset, data, id)
		if err != nil {
			sendErr = fmt.Errorf("send record %d: %w", i, err)
			break
		}
		futs <- f
	}
	close(futs)
	if err := <-errc; err != nil {
		return err
	}
	return sendErr
}
