package datasets

import (
	"sync"

	"github.com/jobtech-dev/datahub/connector-kit/schema"
	"github.com/jobtech-dev/datahub/hub/internal/registry"
)

// Folder is a schemas folder whose declarations are read and compiled
// ahead of [Service.LoadInitialFolder]: a start reads it while JetStream
// recovers its streams, which takes most of a start once many records are
// stored, rather than after.
type Folder struct {
	dir  string
	done chan struct{} // closed once the read ahead ended; nil: none began
	mu   sync.Mutex
	ds   []*registry.Dataset
	err  error
	used bool
}

// ReadFolder begins reading and compiling the declarations under dir ("" =
// no folder) with opts, in the background; [Folder.Wait] waits for it. A
// folder that is missing or does not load is reported by the start that
// uses it, at the point where it always was.
func ReadFolder(dir string, opts ...schema.Option) *Folder {
	f := &Folder{dir: dir}
	if dir == "" {
		return f
	}
	f.done = make(chan struct{})
	go func() {
		defer close(f.done)
		f.ds, f.err = registry.LoadDir(dir, opts...)
	}()
	return f
}

// Dir is the folder's path.
func (f *Folder) Dir() string { return f.dir }

// Wait waits until the read ahead (if any) has ended: a start that stops
// before it used the folder leaves nothing running.
func (f *Folder) Wait() {
	if f.done != nil {
		<-f.done
	}
}

// load returns the datasets read ahead, the first time; a retried step
// (a cluster node's start) reads the folder again with opts, as it did
// before there was a read ahead, since an apply may keep what it is given.
func (f *Folder) load(opts []schema.Option) ([]*registry.Dataset, error) {
	f.Wait()
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.done == nil || f.used {
		return registry.LoadDir(f.dir, opts...)
	}
	f.used = true
	return f.ds, f.err
}
