package table

import (
	"errors"
	"os"
	"time"
)

// A lookup changelog reads the before-image of every key a commit writes.
// From the data files that costs a read of most pages of the buckets
// written, at every commit (tens of times a plain commit); Apache Paimon's
// lookup producer therefore always keeps a local lookup cache. silt does
// the same with its lookup index: the table's own when the process has one
// (Env.LocalDir and Env.Indexes), else, from a writer's second lookup
// commit on, a private index the writer builds in a temporary directory
// (under Env.LocalDir when set, else the system's) and deletes on Close.
// The first commit reads the data files, so a writer that commits once
// (a batch job) never pays for loading the index; a writer that keeps
// committing loads it once and then only catches it up, snapshot by
// snapshot (lookupindex_catchup.go). See
// docs/adr/0041-lookup-changelog-keeps-a-local-index.md. A directory whose
// writer died is removed by the next writer that opens a private index
// in the same parent (changelog_index_sweep.go).

// ownIndex is a writer's private lookup index.
type ownIndex struct {
	reg *LookupIndexes
	dir string
	// lock is dir's lock file, flocked while the index is open (nil where
	// flock is not available).
	lock *ownLock
	x    *lookupIndex // nil: it could not be opened (files are read)
	fp   string
}

// changelogIndex returns the lookup index the writer's before-images come
// from, and the fingerprint of the table's schema for it; nil when they
// are read from the data files.
func (w *Writer) changelogIndex() (*lookupIndex, string) {
	if x := w.t.lookupIndex(); x != nil {
		return x, w.t.lk.fingerprint(w.t.schema)
	}
	if w.cl.noIndex || w.cl.lookupCommits == 0 {
		return nil, ""
	}
	if w.cl.own == nil {
		w.cl.own = openOwnIndex(w.t.env.LocalDir, w.t.env.Now(), w.t.env.OnNotice)
		w.cl.own.fp = schemaFingerprint(w.t.schema)
	}
	return w.cl.own.x, w.cl.own.fp
}

// openOwnIndex removes the leftovers of dead writers under parent ("":
// the system's temporary directory; errors go to notice, when set) and
// opens a private lookup index in a new directory there; its x is nil
// when that fails.
func openOwnIndex(parent string, now time.Time, notice func(string)) *ownIndex {
	if _, err := sweepOwnDirs(parent, now); err != nil && notice != nil {
		notice(err.Error())
	}
	dir, lock, err := createOwnDir(parent)
	if err != nil {
		return &ownIndex{}
	}
	reg := NewLookupIndexes()
	o := &ownIndex{reg: reg, dir: dir, lock: lock, x: reg.get(dir)}
	if o.x == nil {
		_ = o.close()
		return &ownIndex{}
	}
	return o
}

// closeIndex closes and deletes the writer's private lookup index.
func (c *changelogState) closeIndex() error {
	o := c.own
	c.own = nil
	if o == nil || o.reg == nil {
		return nil
	}
	return o.close()
}

// close closes the index and deletes its directory, then releases the
// directory's lock.
func (o *ownIndex) close() error {
	err := errors.Join(o.reg.Close(), os.RemoveAll(o.dir))
	if o.lock != nil {
		err = errors.Join(err, o.lock.release())
	}
	return err
}
