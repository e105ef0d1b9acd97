package node

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/hub/internal/jsread"
	"github.com/jobtech-dev/datahub/hub/internal/store"
	"github.com/jobtech-dev/datahub/internal/taxonomy"
)

// followTaxonomy loads the hub's taxonomy dataset into the index the
// schemas check the x-taxonomy keyword against, before the hub takes
// records, then follows it in the background (counted in wg) until bg ends: a concept
// stored now is known to the next record. A hub that does not declare the
// dataset keeps the index empty, and with no concepts references pass
// unchecked: the start says so. It returns the ingest's OnStored hook that
// puts a concept into the index as this hub stores it, before its publisher
// is answered: the publisher's next record is checked against it.
func (n *Node) followTaxonomy(ctx, bg context.Context, wg *sync.WaitGroup) (map[string]func(wire.Envelope), error) {
	var users []string
	for _, d := range n.reg.List() {
		if d.Schema != nil && d.Schema.UsesTaxonomy() {
			users = append(users, d.Name)
		}
	}
	if _, ok := n.reg.Get(taxonomy.Dataset); !ok {
		if len(users) > 0 {
			n.log.Warn("datasets check taxonomy references, but this hub declares no taxonomy dataset: the references pass unchecked",
				"datasets", users, "taxonomy_dataset", taxonomy.Dataset)
		}
		return nil, nil
	}
	src := func(ctx context.Context, after uint64, follow bool, fn func(wire.Envelope) error) error {
		err := store.Read(ctx, n.js, taxonomy.Dataset, store.Position{AfterSeq: after}, store.ReadOptions{Follow: follow,
			OnUnreadable: func(stream string, seqs []uint64) { n.integrity.Report(ctx, stream, seqs) }}, fn)
		var ue *jsread.UnreadableError
		if errors.As(err, &ue) {
			return nil // passed over, and reported as damage
		}
		return err
	}
	f := taxonomy.NewFollower(n.taxonomy, src, n.log)
	if err := f.Load(ctx); err != nil {
		return nil, fmt.Errorf("load the taxonomy from dataset %s: %w", taxonomy.Dataset, err)
	}
	if n.taxonomy.Len() == 0 && len(users) > 0 {
		n.log.Warn("the taxonomy holds no concepts yet: taxonomy references pass unchecked until concepts are published to "+taxonomy.Dataset,
			"datasets", users)
	}
	wg.Go(func() { f.Run(bg) })
	return map[string]func(wire.Envelope){taxonomy.Dataset: f.Apply}, nil
}

// Taxonomy is the index of the taxonomy the x-taxonomy keyword checks
// against, following the taxonomy dataset.
func (n *Node) Taxonomy() *taxonomy.Index { return n.taxonomy }
