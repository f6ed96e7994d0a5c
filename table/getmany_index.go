package table

import (
	"time"

	"github.com/siltdb/silt/manifest"
)

// getEach answers from the index every probe not yet done, if the index
// is current at snap, and returns how many it answered. Each probe is
// answered at snap (the index may move on between probes; those left are
// then read from the files at snap).
func (x *lookupIndex) getEach(snap *manifest.Snapshot, fp string, cols int, probes []keyProbe) int {
	n := 0
	for i := range probes {
		p := &probes[i]
		if p.done {
			continue
		}
		rec, exists, served := x.get(snap, fp, cols, p.partition, p.bucket, p.key)
		if !served {
			return n
		}
		p.rec, p.exists, p.done = rec, exists, true
		n++
	}
	return n
}

// getAll answers every probe from the index at snap under one read lock,
// or none (false).
func (x *lookupIndex) getAll(snap *manifest.Snapshot, fp string, cols int, probes []keyProbe) bool {
	x.mu.RLock()
	if x.db == nil || !x.st.currentAt(snap, fp) {
		x.mu.RUnlock()
		return false
	}
	err := x.readAllLocked(cols, probes)
	x.mu.RUnlock()
	if err != nil {
		x.fail(indexErr(err))
		return false
	}
	return true
}

// getAllBounded is getBounded for every probe, all at the index's one
// snapshot (read under one lock): served is false (and no probe is done)
// when the strict path must answer.
func (x *lookupIndex) getAllBounded(now time.Time, bound time.Duration, fp string, cols int, probes []keyProbe) (served bool, age time.Duration) {
	x.mu.RLock()
	st, c := x.st, x.fresh.conf
	if x.db == nil || st.snap == nil || st.fp != fp || c.id != st.snap.ID || c.list != st.snap.ManifestList {
		x.mu.RUnlock()
		return false, 0
	}
	if age = max(now.Sub(c.at), 0); age > bound {
		x.mu.RUnlock()
		return false, age
	}
	err := x.readAllLocked(cols, probes)
	x.mu.RUnlock()
	if err != nil {
		x.fail(indexErr(err))
		return false, age
	}
	return true, age
}

// readAllLocked reads every probe's record; x.mu must be held and x.db
// set. On an error no probe is done (the caller resets the index once it
// released the lock).
func (x *lookupIndex) readAllLocked(cols int, probes []keyProbe) error {
	var buf []byte
	for i := range probes {
		p := &probes[i]
		buf = recordKey(buf[:0], p.partition, p.bucket, p.key)
		rec, exists, err := x.readLocked(buf, p.key, cols)
		if err != nil {
			for j := range probes[:i] {
				probes[j].done = false
			}
			return err
		}
		p.rec, p.exists, p.done = rec, exists, true
	}
	return nil
}
