package icebergview

import (
	"context"
	"strings"

	icetable "github.com/apache/iceberg-go/table"
	"github.com/siltdb/silt/table"
)

// clean deletes the view's objects that the metadata file rel (just made
// current, with content md) no longer needs and that are older than the
// table's orphan.grace-period: snapshot folders of dropped snapshots and
// of crashed attempts, and metadata files that are neither current nor in
// the metadata log. The grace period spares what a reader that opened an
// older metadata file moments ago still reads, and the folders of a
// publication in flight. Failures are ignored: the next publication
// retries.
func (p *Publisher) clean(ctx context.Context, t *table.Table, md icetable.Metadata, rel string) {
	grace := t.Options().Lifecycle.OrphanGracePeriod
	cutoff := p.now().Add(-grace)
	store, root := t.Store(), t.Root()
	loc := p.location(t)
	keepDirs := map[string]bool{}
	for _, s := range md.Snapshots() {
		rest, ok := strings.CutPrefix(s.ManifestList, loc+SnapDir)
		if !ok {
			continue
		}
		if dir, _, ok := strings.Cut(rest, "/"); ok {
			keepDirs[dir] = true
		}
	}
	keepMeta := map[string]bool{rel: true}
	for e := range md.PreviousFiles() {
		if r, ok := strings.CutPrefix(e.MetadataFile, loc); ok {
			keepMeta[r] = true
		}
	}
	if infos, err := store.List(ctx, root+SnapDir); err == nil {
		for _, in := range infos {
			r := strings.TrimPrefix(in.Key, root)
			dir, _, ok := strings.Cut(strings.TrimPrefix(r, SnapDir), "/")
			if !ok || keepDirs[dir] || !in.LastModified.Before(cutoff) {
				continue
			}
			_ = store.Delete(ctx, in.Key)
		}
	}
	if infos, err := store.List(ctx, root+MetadataDir); err == nil {
		for _, in := range infos {
			r := strings.TrimPrefix(in.Key, root)
			if keepMeta[r] || !in.LastModified.Before(cutoff) {
				continue
			}
			_ = store.Delete(ctx, in.Key)
		}
	}
}
