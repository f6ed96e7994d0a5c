// Package icebergview publishes, beside a silt table, Iceberg table
// metadata that points at the table's own Parquet files, so that engines
// that speak Iceberg (Trino, Spark, Flink, DuckDB, PyIceberg, iceberg-go)
// read what SELECT * returns. The metadata is written with
// github.com/apache/iceberg-go.
//
// It sits on the table layer: table never imports it.
package icebergview

import "errors"

// ErrNotPublished says a table has no Iceberg metadata: publication is
// off for it, or has not run yet.
var ErrNotPublished = errors.New("no iceberg metadata published")
