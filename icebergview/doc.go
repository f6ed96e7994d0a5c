// Package icebergview publishes, beside a silt table, Iceberg table
// metadata that points at the table's own Parquet files, so that engines
// that speak Iceberg (Trino, Spark, Flink, DuckDB, PyIceberg, iceberg-go)
// read what SELECT * returns. The metadata is written with
// github.com/apache/iceberg-go.
//
// It sits on the table layer: table never imports it.
package icebergview

import (
	"context"
	"errors"

	"github.com/siltdb/silt/objstore"
)

// ErrNotPublished says a table has no Iceberg metadata: publication is
// off for it, or has not run yet.
var ErrNotPublished = errors.New("no iceberg metadata published")

// Current returns the location (a URI an outside reader opens: s3://… on
// S3, file://… on a local warehouse) and the content of the newest
// published Iceberg metadata file of the table stored at root in store.
// It returns an error wrapping ErrNotPublished when there is none.
func Current(ctx context.Context, store objstore.Store, root string) (location string, metadataJSON []byte, err error) {
	return "", nil, ErrNotPublished
}
