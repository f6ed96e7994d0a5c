package server

import (
	"context"
	"fmt"
	"sync"

	"github.com/siltdb/silt/manifest"
)

// Write amplification in bytes: the bytes of the data files each observed
// snapshot added, by commit kind. APPEND and OVERWRITE snapshots add what
// writers flushed; COMPACT snapshots add compaction outputs. A file that a
// commit only moved (to another level or tier) keeps its path and is not
// counted; nor is a REPLACE (it publishes existing files).

// metaReader is what observing a snapshot reads (a *manifest.Table, or
// prefetched in front of one).
type metaReader interface {
	ReadManifestList(ctx context.Context, path string) ([]manifest.ManifestMeta, error)
	ReadManifest(ctx context.Context, path string) ([]manifest.Entry, error)
	Files(ctx context.Context, s *manifest.Snapshot) ([]manifest.DataFile, error)
}

// prefetched answers reads of manifest lists and manifests from what
// prefetch read, and the rest from the table.
type prefetched struct {
	*manifest.Table
	lists     map[string][]manifest.ManifestMeta
	manifests map[string][]manifest.Entry
}

func (p *prefetched) ReadManifestList(ctx context.Context, path string) ([]manifest.ManifestMeta, error) {
	if l, ok := p.lists[path]; ok {
		return l, nil
	}
	return p.Table.ReadManifestList(ctx, path)
}

func (p *prefetched) ReadManifest(ctx context.Context, path string) ([]manifest.Entry, error) {
	if m, ok := p.manifests[path]; ok {
		return m, nil
	}
	return p.Table.ReadManifest(ctx, path)
}

// prefetch reads, in parallel, the manifest lists of snaps (ascending ids)
// and the manifests each list adds to the one before it (the first's to
// cached's, when that is its parent): what observing them in order reads
// in the usual case. A failed read is left out; observe reads it again
// and reports the error.
func prefetch(ctx context.Context, meta *manifest.Table, snaps []*manifest.Snapshot, cached listCache) *prefetched {
	p := &prefetched{Table: meta, lists: map[string][]manifest.ManifestMeta{}, manifests: map[string][]manifest.Entry{}}
	lists := make([][]manifest.ManifestMeta, len(snaps))
	ok := make([]bool, len(snaps))
	parallel(len(snaps), func(i int) {
		if snaps[i].CommitKind != manifest.CommitReplace {
			l, err := meta.ReadManifestList(ctx, snaps[i].ManifestList)
			lists[i], ok[i] = l, err == nil
		}
	})
	var paths []string
	for i, sn := range snaps {
		if !ok[i] {
			continue
		}
		p.lists[sn.ManifestList] = lists[i]
		var parent []manifest.ManifestMeta
		switch {
		case i > 0 && ok[i-1] && snaps[i-1].ID == sn.ParentID:
			parent = lists[i-1]
		case i == 0 && cached.snap != nil && cached.snap.ID == sn.ParentID:
			parent = cached.metas
		case sn.ParentID != 0:
			continue
		}
		if isPrefix(parent, lists[i]) {
			for _, m := range lists[i][len(parent):] {
				paths = append(paths, m.Path)
			}
		}
	}
	entries := make([][]manifest.Entry, len(paths))
	errs := make([]error, len(paths))
	parallel(len(paths), func(i int) { entries[i], errs[i] = meta.ReadManifest(ctx, paths[i]) })
	for i, path := range paths {
		if errs[i] == nil {
			p.manifests[path] = entries[i]
		}
	}
	return p
}

// readParallelism bounds the concurrent reads of a refresh.
const readParallelism = 8

// parallel calls fn(0), …, fn(n-1), readParallelism at a time.
func parallel(n int, fn func(i int)) {
	sem := make(chan struct{}, readParallelism)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			fn(i)
		}()
	}
	wg.Wait()
}

// listCache remembers the manifest list of the last snapshot observed, the
// parent of the next one in the common case.
type listCache struct {
	snap  *manifest.Snapshot
	metas []manifest.ManifestMeta
}

// observe counts one newly seen snapshot: its kind, its delta records and
// the bytes of the data files it added. read returns a snapshot by id (nil
// when it expired).
func (st *tableState) observe(ctx context.Context, meta metaReader, sn *manifest.Snapshot, read func(int64) (*manifest.Snapshot, error)) error {
	st.CommitsBy[sn.CommitKind]++
	if sn.CommitKind == manifest.CommitReplace {
		st.lastList = listCache{}
		return nil
	}
	var parent *manifest.Snapshot
	var parentList []manifest.ManifestMeta
	if sn.ParentID != 0 {
		if c := st.lastList; c.snap != nil && c.snap.ID == sn.ParentID {
			parent, parentList = c.snap, c.metas
		} else {
			var err error
			if parent, err = read(sn.ParentID); err != nil {
				return err
			}
		}
	}
	added, list, known, err := addedBytes(ctx, meta, sn, parent, parentList)
	if err != nil {
		return err
	}
	st.lastList = listCache{snap: sn, metas: list}
	switch sn.CommitKind {
	case manifest.CommitCompact:
		st.Rewritten += sn.DeltaRecordCount
		if known {
			st.CompactedBytes += added
		}
	case manifest.CommitAppend, manifest.CommitOverwrite:
		st.Ingested += sn.DeltaRecordCount
		if known {
			st.FlushedBytes += added
		}
	}
	return nil
}

// addedBytes returns the bytes of the data files sn added over its parent
// (nil: none, sn is the first snapshot or its parent expired) and sn's
// manifest list. known is false when the parent expired meanwhile: then
// the added files cannot be told apart.
//
// When sn's manifest list is its parent's plus new manifests (the usual
// commit), only the new manifests are read: their ADD entries whose path
// they do not also DELETE (level and tier moves are a DELETE and an ADD
// of one path). When the commit merged the manifests, both snapshots'
// live files are compared.
func addedBytes(ctx context.Context, meta metaReader, sn, parent *manifest.Snapshot, parentList []manifest.ManifestMeta) (added int64, list []manifest.ManifestMeta, known bool, err error) {
	list, err = meta.ReadManifestList(ctx, sn.ManifestList)
	if err != nil {
		return 0, nil, false, fmt.Errorf("snapshot %d: %w", sn.ID, err)
	}
	if sn.ParentID != 0 && parent == nil {
		return 0, list, false, nil
	}
	if parent != nil && parentList == nil {
		if parentList, err = meta.ReadManifestList(ctx, parent.ManifestList); err != nil {
			return 0, list, false, fmt.Errorf("snapshot %d: %w", parent.ID, err)
		}
	}
	if parent == nil || isPrefix(parentList, list) {
		adds := map[string]int64{}
		moved := map[string]bool{}
		for _, m := range list[len(parentList):] {
			entries, err := meta.ReadManifest(ctx, m.Path)
			if err != nil {
				return 0, list, false, fmt.Errorf("snapshot %d: %w", sn.ID, err)
			}
			for _, e := range entries {
				switch e.Kind {
				case manifest.Add:
					adds[e.File.Path] = e.File.Size
				case manifest.Delete:
					moved[e.File.Path] = true
				}
			}
		}
		for p, size := range adds {
			if !moved[p] {
				added += size
			}
		}
		return added, list, true, nil
	}
	before, err := meta.Files(ctx, parent)
	if err != nil {
		return 0, list, false, err
	}
	after, err := meta.Files(ctx, sn)
	if err != nil {
		return 0, list, false, err
	}
	was := make(map[string]bool, len(before))
	for _, f := range before {
		was[f.Path] = true
	}
	for _, f := range after {
		if !was[f.Path] {
			added += f.Size
		}
	}
	return added, list, true, nil
}

// isPrefix reports whether a's manifests start b.
func isPrefix(a, b []manifest.ManifestMeta) bool {
	if len(a) > len(b) {
		return false
	}
	for i := range a {
		if a[i].Path != b[i].Path {
			return false
		}
	}
	return true
}

// writeAmplification is the bytes written (flushed plus compaction
// outputs) per byte flushed, over the observed snapshots.
func (st *tableState) writeAmplification() float64 {
	if st.FlushedBytes == 0 {
		return 0
	}
	return float64(st.FlushedBytes+st.CompactedBytes) / float64(st.FlushedBytes)
}
