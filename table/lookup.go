package table

import (
	"context"
	"fmt"

	"github.com/siltdb/silt/lsm"
	"github.com/siltdb/silt/manifest"
)

// LookupRecord returns the merged record of one encoded primary key in one
// (partition, bucket) at snapshot snap, deletes included: rec.Kind may be a
// retraction (-U/-D) when the key's last change deleted it. exists is
// false when the bucket holds no record of the key at all (or snap is nil).
// It is the building block of point lookups and of changelog
// before-images; the local lookup index (when present and current)
// answers it without reading data files.
func (t *Table) LookupRecord(ctx context.Context, snap *manifest.Snapshot, partition string, bucket int, key []byte) (rec lsm.Record, exists bool, err error) {
	if snap == nil {
		return lsm.Record{}, false, nil
	}
	files, err := t.meta.Files(ctx, snap)
	if err != nil {
		return lsm.Record{}, false, fmt.Errorf("table %s: snapshot %d: %w", t.name, snap.ID, err)
	}
	var srcs []lsm.FileSource
	for _, f := range files {
		if f.Partition != partition || f.Bucket != bucket {
			continue
		}
		srcs = append(srcs, lsm.FileSource{Meta: f, Open: func(ctx context.Context) (*lsm.FileReader, error) { return t.openFile(ctx, f) }})
	}
	rec, _, _, err = lsm.Lookup(ctx, srcs, key, t.merger)
	if err != nil {
		return lsm.Record{}, false, fmt.Errorf("table %s: lookup: %w", t.name, err)
	}
	return rec, rec.Key != nil, nil
}
