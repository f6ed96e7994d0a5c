package icebergview

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"sync"

	"github.com/parquet-go/parquet-go"
	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/types"
)

// propNoFieldIDs counts the data files of a published snapshot that lack
// a Parquet field id on some column (silt data files of format version
// 1: the first column and the hidden ones). Engines that resolve columns
// by field id as soon as a file has any (Spark, Trino, Flink) read such a
// column as NULL; a compaction that merges the file rewrites it.
const propNoFieldIDs = "silt.files-without-field-ids"

// fieldIDCache remembers, per data file (immutable: keyed by tier, key,
// size and checksum), whether it lacks Parquet field ids, so each file's
// footer is read once per process. It is bounded: past maxEntries it
// starts over.
type fieldIDCache struct {
	mu sync.Mutex
	m  map[string]bool
}

const fieldIDCacheMax = 1 << 17

func (c *fieldIDCache) get(k string) (lacks, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	lacks, ok = c.m[k]
	return lacks, ok
}

func (c *fieldIDCache) put(k string, lacks bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= fieldIDCacheMax {
		c.m = map[string]bool{}
	}
	c.m[k] = lacks
}

// lacksFieldIDs reports whether the data file f (key root+f.Path in
// store) has a column without a Parquet field id, reading its footer the
// first time.
func (p *Publisher) lacksFieldIDs(ctx context.Context, store objstore.Store, root string, f manifest.DataFile) (bool, error) {
	k := f.Tier + "\x00" + root + f.Path + "\x00" + strconv.FormatInt(f.Size, 10) + "\x00" + f.Checksum
	if lacks, ok := p.fieldIDs.get(k); ok {
		return lacks, nil
	}
	lacks, err := fileLacksFieldIDs(objstore.NewReaderAt(ctx, store, root+f.Path, f.Size), f.Size)
	if err != nil {
		return false, fmt.Errorf("data file %s: %w", f.Path, err)
	}
	p.fieldIDs.put(k, lacks)
	return lacks, nil
}

// fileLacksFieldIDs reads a Parquet footer and reports whether a
// top-level column has no field id. A malformed footer (parquet-go may
// panic on one) is an error wrapping types.ErrCorruption.
func fileLacksFieldIDs(r io.ReaderAt, size int64) (lacks bool, err error) {
	defer func() {
		if p := recover(); p != nil {
			lacks, err = false, fmt.Errorf("%w: malformed Parquet footer: %v", types.ErrCorruption, p)
		}
	}()
	pf, err := parquet.OpenFile(r, size, parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true), parquet.ReadBufferSize(64<<10))
	if err != nil {
		return false, fmt.Errorf("%w: %v", types.ErrCorruption, err)
	}
	for _, c := range pf.Root().Fields() {
		if c.ID() == 0 {
			return true, nil
		}
	}
	return false, nil
}
