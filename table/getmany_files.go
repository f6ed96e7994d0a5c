package table

import (
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/siltdb/silt/lsm"
	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/types"
)

// readProbes answers the probes not yet done from the data files of r's
// snapshot. Probes are sorted by (partition, bucket), so each LSM tree's
// files are picked once; a file is opened (once) only when a probe's key
// lies in its key range, and its row groups are read through a memo, so a
// row group holding several probed keys is read once.
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
	open := map[string]*memoFile{}
	defer func() {
		for _, m := range open {
			st.RowGroups += m.rowGroups()
			st.Reads += m.reads()
		}
	}()
	for i := range probes {
		p := &probes[i]
		if p.done {
			continue
		}
		if i%256 == 0 {
			r.keepAlive(ctx) // renew the lease of a long read (lease.go)
		}
		fs := groups[bucketKey{p.partition, p.bucket}]
		srcs := make([]lsm.FileSource, len(fs))
		for j, f := range fs {
			srcs[j] = lsm.FileSource{Meta: f, Open: func(ctx context.Context) (*lsm.FileReader, error) {
				m := open[f.Path]
				if m == nil {
					fr, mf, err := t.openMemoFile(ctx, f)
					if err != nil {
						return nil, err
					}
					mf.fr = fr
					open[f.Path] = mf
					st.FilesOpened++
					m = mf
				}
				return m.fr, nil
			}}
		}
		rec, _, _, err := lsm.Lookup(ctx, srcs, p.key, t.merger)
		if err != nil {
			return fmt.Errorf("table %s: lookup: %w", t.name, err)
		}
		p.rec, p.exists, p.done = rec, rec.Key != nil, true
	}
	return nil
}

// memoFile is a data file opened for one GetMany: its reads are kept, so
// a row group several keys need is read once.
type memoFile struct {
	fr *lsm.FileReader
	r  *memoReaderAt
}

func (m *memoFile) rowGroups() int {
	m.r.mu.Lock()
	defer m.r.mu.Unlock()
	return m.r.afterOpen
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

// memoReaderAt keeps every range read from r, by (offset, length): the
// row groups of a file are always read as the same ranges.
type memoReaderAt struct {
	r      io.ReaderAt
	remote bool // reads reach the object store

	mu        sync.Mutex
	ranges    map[[2]int64][]byte
	opened    bool // the footer is read: further ranges are row groups
	afterOpen int  // distinct ranges read once opened
	gets      int  // object-store reads
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
		if m.opened {
			m.afterOpen++
		}
		if m.remote {
			m.gets++
		}
	}
	return n, nil
}
