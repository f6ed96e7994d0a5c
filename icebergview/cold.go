package icebergview

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/siltdb/silt/table"
)

// Files in the cold tier keep their key (table root + path) in the cold
// tier's store, so the view points at them by the cold tier's location:
// its s3:// URI (readers reach it with the same S3 settings as the
// warehouse) or, for a local warehouse, its directory's file:// URI.

// coldLocation is the location URI of t's files in the cold tier, ending
// in '/', or why a reader of the view could not read them: no cold tier,
// an archive storage class (objects need a restore before a GET), or a
// cold tier on another kind of store than the warehouse (an Iceberg
// table's files are read through one FileIO).
func (p *Publisher) coldLocation(t *table.Table) (string, error) {
	uri := t.ColdURI()
	if uri == "" {
		return "", fmt.Errorf("%w: the table has no cold tier configured", errColdTier)
	}
	if sc := t.Options().Lifecycle.ColdStorageClass; archiveClass(sc) {
		return "", fmt.Errorf("%w: storage class %s needs a restore before a read", errColdTier, sc)
	}
	var base string
	switch s3 := strings.HasPrefix(p.Base, "s3://"); {
	case strings.HasPrefix(uri, "s3://") && s3:
		bucket, prefix, _ := strings.Cut(strings.TrimPrefix(uri, "s3://"), "/")
		base = S3Base(bucket, prefix)
	case !strings.Contains(uri, "://") && strings.HasPrefix(p.Base, "file:"):
		dir, err := filepath.Abs(uri)
		if err != nil {
			return "", fmt.Errorf("%w: cold tier %s: %v", errColdTier, uri, err)
		}
		base = LocalBase(dir)
	default:
		return "", fmt.Errorf("%w: cold tier %s is not on the warehouse's kind of store (%s)", errColdTier, uri, strings.SplitN(p.Base, ":", 2)[0])
	}
	return base + p.escape(t.Root()), nil
}

// archiveClass reports whether objects of an S3 storage class must be
// restored before they can be read.
func archiveClass(sc string) bool {
	switch strings.ToUpper(sc) {
	case "GLACIER", "DEEP_ARCHIVE":
		return true
	}
	return false
}
