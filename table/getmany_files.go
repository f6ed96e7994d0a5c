package table

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"iter"
	"sync"

	"github.com/siltdb/silt/lsm"
	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/types"
)

// readProbes answers the probes not yet done from the data files of r's
// snapshot. Probes are sorted by (partition, bucket, key), so each LSM
// tree is read once for all its keys: a file is opened (once) only when a
// key lies in its key range and passes its bloom filters, the keys it may
// hold are read in one lsm.FileReader.LookupKeys (the pages of each row
// group that hold any of them, each page read once), and the records found
// are merged per key.
func (t *Table) readProbes(ctx context.Context, r *keyRead, probes []keyProbe, st *GetManyStats) error {
	files, err := t.meta.Files(ctx, r.snap)
	if err != nil {
		return fmt.Errorf("table %s: snapshot %d: %w", t.name, r.snap.ID, err)
	}
	groups := map[bucketKey][]manifest.DataFile{}
	for _, f := range files {
		k := bucketKey{f.Partition, f.Bucket}
		groups[k] = append(groups[k], f)
	}
	var opened []*memoFile
	defer func() {
		for _, m := range opened {
			st.Reads += m.reads()
		}
	}()
	for lo := 0; lo < len(probes); {
		hi := lo + 1
		for hi < len(probes) && probes[hi].partition == probes[lo].partition && probes[hi].bucket == probes[lo].bucket {
			hi++
		}
		fs := groups[bucketKey{probes[lo].partition, probes[lo].bucket}]
		if err := t.readBucketProbes(ctx, r, fs, probes[lo:hi], &opened, st); err != nil {
			return err
		}
		lo = hi
	}
	return nil
}

// readBucketProbes is readProbes for the probes of one (partition,
// bucket), in key order, and its files.
func (t *Table) readBucketProbes(ctx context.Context, r *keyRead, files []manifest.DataFile, probes []keyProbe, opened *[]*memoFile, st *GetManyStats) error {
	var want []int // positions of the probes to answer, in key order
	for i := range probes {
		if !probes[i].done {
			want = append(want, i)
		}
	}
	if len(want) == 0 {
		return nil
	}
	var sources []iter.Seq2[lsm.Record, error]
	for _, f := range files {
		var cand []int
		for _, i := range want {
			if keyInRange(probes[i].key, f.MinKey, f.MaxKey) {
				cand = append(cand, i)
			}
		}
		if len(cand) == 0 {
			continue
		}
		r.keepAlive(ctx) // renew the lease of a long read (lease.go)
		fr, m, err := t.openMemoFile(ctx, f)
		if err != nil {
			return err
		}
		*opened = append(*opened, m)
		st.FilesOpened++
		kept := cand[:0]
		for _, i := range cand {
			if fr.MayContain(probes[i].key) {
				kept = append(kept, i)
			}
		}
		var keys [][]byte
		for _, i := range kept {
			keys = append(keys, probes[i].key)
		}
		for g := 0; g < fr.NumRowGroups() && len(keys) > 0; g++ {
			info := fr.Group(g)
			for _, k := range keys {
				if keyInRange(k, info.MinKey, info.MaxKey) {
					st.RowGroups++
					break
				}
			}
		}
		var recs []lsm.Record
		if len(keys) > 0 {
			before := fr.Stats().PagesRead
			if recs, err = fr.LookupKeys(ctx, keys); err != nil {
				return fmt.Errorf("table %s: data file %s: %w", t.name, f.Path, err)
			}
			st.Pages += int(fr.Stats().PagesRead - before)
		}
		if len(recs) > 0 {
			sources = append(sources, recordSeq(recs))
		}
	}
	k := 0
	for rec, err := range lsm.MergeRuns(ctx, sources, t.merger, true) {
		if err != nil {
			return fmt.Errorf("table %s: lookup: %w", t.name, err)
		}
		for k < len(want) && bytes.Compare(probes[want[k]].key, rec.Key) < 0 {
			k++
		}
		if k < len(want) && bytes.Equal(probes[want[k]].key, rec.Key) {
			p := &probes[want[k]]
			p.rec, p.exists = rec, true
		}
	}
	for _, i := range want {
		probes[i].done = true
	}
	return nil
}

// recordSeq yields recs.
func recordSeq(recs []lsm.Record) iter.Seq2[lsm.Record, error] {
	return func(yield func(lsm.Record, error) bool) {
		for _, r := range recs {
			if !yield(r, nil) {
				return
			}
		}
	}
}

// keyInRange reports whether key may lie in [minKey, maxKey]; an empty
// bound is unknown and admits everything.
func keyInRange(key, minKey, maxKey []byte) bool {
	if len(minKey) > 0 && bytes.Compare(key, minKey) < 0 {
		return false
	}
	return len(maxKey) == 0 || bytes.Compare(key, maxKey) <= 0
}

// memoFile is a data file opened for one GetMany: its reads are kept, so
// a row group several keys need is read once.
type memoFile struct {
	fr *lsm.FileReader
	r  *memoReaderAt
}

func (m *memoFile) reads() int {
	m.r.mu.Lock()
	defer m.r.mu.Unlock()
	return m.r.gets
}

// openMemoFile opens f as openLookupFile does (the cached footer when
// there is one, a small file in one read) through a memo of its reads.
func (t *Table) openMemoFile(ctx context.Context, f manifest.DataFile) (*lsm.FileReader, *memoFile, error) {
	store, err := t.storeFor(ctx, f.Tier)
	if err != nil {
		return nil, nil, fmt.Errorf("table %s: data file %s: %w", t.name, f.Path, err)
	}
	key := t.root + f.Path
	m := &memoFile{r: &memoReaderAt{ranges: map[[2]int64][]byte{}}}
	fail := func(err error) (*lsm.FileReader, *memoFile, error) {
		return nil, nil, fmt.Errorf("table %s: data file %s: %w", t.name, f.Path, err)
	}
	if ft := t.cachedFooter(f); ft != nil {
		m.r.r, m.r.remote, m.r.opened = objstore.NewReaderAt(ctx, store, key, f.Size), true, true
		fr, err := lsm.OpenFooter(m.r, ft, t.schema, f.SeqBase)
		if err == nil {
			err = lsm.CheckIdentity(fr, f)
		}
		if err != nil {
			return fail(err)
		}
		return fr, m, nil
	}
	if f.Size <= smallFileLimit {
		data, _, err := store.Get(ctx, key)
		if err != nil {
			return nil, nil, fmt.Errorf("table %s: read data file %s: %w", t.name, f.Path, err)
		}
		if int64(len(data)) != f.Size {
			return nil, nil, fmt.Errorf("table %s: data file %s has %d bytes, manifest says %d: %w", t.name, f.Path, len(data), f.Size, types.ErrCorruption)
		}
		m.r.r, m.r.gets = lsm.NewBytesReader(data), 1
	} else {
		m.r.r, m.r.remote = objstore.NewReaderAt(ctx, store, key, f.Size), true
	}
	fr, err := lsm.OpenFile(ctx, m.r, f.Size, t.schema, f.SeqBase)
	if err == nil {
		err = lsm.CheckIdentity(fr, f)
	}
	if err != nil {
		return fail(err)
	}
	t.cacheFooter(f, fr)
	m.r.mu.Lock()
	m.r.opened = true
	m.r.mu.Unlock()
	return fr, m, nil
}

// memoReaderAt keeps every range read from r, by (offset, length), so a
// range read twice in one GetMany is read once.
type memoReaderAt struct {
	r      io.ReaderAt
	remote bool // reads reach the object store

	mu     sync.Mutex
	ranges map[[2]int64][]byte
	opened bool // the footer is read: further ranges are pages or row groups
	gets   int  // object-store reads
}

func (m *memoReaderAt) ReadAt(p []byte, off int64) (int, error) {
	k := [2]int64{off, int64(len(p))}
	m.mu.Lock()
	if b, ok := m.ranges[k]; ok {
		m.mu.Unlock()
		return copy(p, b), nil
	}
	m.mu.Unlock()
	n, err := m.r.ReadAt(p, off)
	if err != nil && !(err == io.EOF && n == len(p)) {
		return n, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.ranges[k]; !ok {
		m.ranges[k] = append([]byte(nil), p[:n]...)
		if m.remote {
			m.gets++
		}
	}
	return n, nil
}
