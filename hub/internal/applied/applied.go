// Package applied records how a piece of the hub's replicated state — the
// sharing policies, the dataset registry — was last put in force: from a
// folder at a start, or through the admin API, by whom, when, and from where.
// A start that is given a folder uses it to tell an edited folder (apply it)
// from a folder about to undo what an admin applied another way since (apply
// it, but say so loudly first). Both the policies and the datasets follow
// this one rule, so it lives here once.
package applied

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Routes by which a state is put in force.
const (
	// RouteFolder is a folder, applied by `hub serve` at start.
	RouteFolder = "folder"
	// RouteAPI is the admin API (the CLI's apply commands use it).
	RouteAPI = "api"
)

// ByStart is who applies a folder at start.
const ByStart = "hub-start"

// Origin says how the state in force was applied.
type Origin struct {
	// Route is RouteFolder or RouteAPI.
	Route string `json:"route"`
	// By is who applied it: ByStart for a folder at start, else the admin
	// or actor that asked.
	By string `json:"by"`
	// Source is where it came from: the folder's absolute path, or what an
	// API client said it sent (the CLI sends the path given to -f).
	Source string `json:"source,omitempty"`
	// Node is the cluster node that applied it ("" on a single hub, and
	// for states applied before the hub recorded it): the same folder path
	// on two machines is not the same folder.
	Node string `json:"node,omitempty"`
	// Digest is the digest of the state applied.
	Digest string `json:"digest"`
	// At is when it was applied.
	At time.Time `json:"at"`
}

// How says in words how the state was applied, for the WARN of a start
// whose folder replaces it.
func (o Origin) How() string { return o.HowOn("") }

// HowOn is How as cluster node node says it: a folder of another node is
// named with its node.
func (o Origin) HowOn(node string) string {
	switch {
	case o.Route == RouteFolder && o.Node != node:
		return "applied from the folder " + o.Source + " of node " + o.Node
	}
	switch o.Route {
	case RouteAPI:
		return "applied through the admin API/CLI by " + o.By
	case RouteFolder:
		return "applied from another folder (" + o.Source + ")"
	case "":
		return "applied by an unrecorded route (before the hub recorded how)"
	}
	return "applied " + o.Route
}

// Overrides reports whether a start applying folder, whose state has digest
// folderDigest, replaces a state applied another way: there is an applied
// state (appliedDigest is not ""), it differs, and it did not come from the
// same folder (path and node) at a start, from. An edited folder is not an
// override; a folder undoing an apply through the API is.
func Overrides(appliedDigest string, o Origin, folderDigest string, from Origin) bool {
	return appliedDigest != "" && appliedDigest != folderDigest && !(o.Route == RouteFolder && o.Source == from.Source && o.Node == from.Node)
}

// Read reads the origin stored under key in kv. It is zero when none was
// stored, or when the one stored was written for another state than the one
// whose digest is given (a crash between writing a state and its origin):
// how the state came is then unknown.
func Read(ctx context.Context, kv jetstream.KeyValue, key, digest string) (Origin, error) {
	e, err := kv.Get(ctx, key)
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
		return Origin{}, nil
	case err != nil:
		return Origin{}, fmt.Errorf("read how the state in %s was applied: %w", kv.Bucket(), err)
	}
	var o Origin
	if json.Unmarshal(e.Value(), &o) != nil || o.Digest != digest {
		return Origin{}, nil
	}
	return o, nil
}

// Write stores o under key in kv. Write it after the state it describes: it
// carries the state's digest, so a crash between the two writes leaves an
// origin that is recognisably not the state's (unknown), never a wrong one.
func Write(ctx context.Context, kv jetstream.KeyValue, key string, o Origin) error {
	b, err := json.Marshal(o)
	if err != nil {
		return fmt.Errorf("encode origin: %w", err)
	}
	if _, err := kv.Put(ctx, key, b); err != nil {
		return fmt.Errorf("persist how the state in %s was applied: %w", kv.Bucket(), err)
	}
	return nil
}
