// Package query is silt's SQL-ish front end: a parser, a planner that pushes
// key and partition predicates down to table scans, and an executor.
package query

import (
	"context"
	"iter"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/siltdb/silt/catalog"
	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/types"
)

// Catalog is what the engine needs from silt's catalog. The consumer declares
// the interface (iceberg-go style); query/silt.go adapts catalog.Catalog.
type Catalog interface {
	CreateDatabase(ctx context.Context, name string, ifNotExists bool) error
	DropDatabase(ctx context.Context, name string, ifExists, cascade bool) error
	ListDatabases(ctx context.Context) ([]string, error)
	// CreateTable assigns field ids and schema id 0; s.ID and field ids in s
	// are ignored.
	CreateTable(ctx context.Context, db, table string, s *types.Schema, ifNotExists bool) error
	DropTable(ctx context.Context, db, table string, ifExists bool) error
	ListTables(ctx context.Context, db string) ([]string, error)
	// LoadTable returns types.ErrNotFound (wrapped) for an unknown table.
	LoadTable(ctx context.Context, db, table string) (Table, error)
}

// Table is one primary-key table as the engine sees it.
type Table interface {
	// Schema is the current schema.
	Schema() *types.Schema
	// Scan returns the merged rows of the table at the chosen snapshot, in
	// schema order of the schema that Scan's Schema reports.
	Scan(ctx context.Context, spec ScanSpec) (Scan, error)
	// Apply writes the changes as one commit and returns the new snapshot
	// id. Rows are full rows in current schema order. An empty change list
	// commits nothing and returns 0.
	Apply(ctx context.Context, changes []Change) (int64, error)
	// Snapshots lists the retained snapshots in ascending id order.
	Snapshots(ctx context.Context) ([]*manifest.Snapshot, error)
	// Files lists the live data files of the snapshot spec selects (Equals
	// is ignored) and returns its id: 0 and no files for an empty table; an
	// unknown snapshot wraps types.ErrNotFound. Rows of t$files.
	Files(ctx context.Context, spec ScanSpec) (int64, []FileInfo, error)
}

// FileInfo describes one live data file.
type FileInfo struct {
	Partition string // canonical partition path, "" when unpartitioned
	Bucket    int
	Level     int
	Path      string // relative to the table root
	// RecordCount counts every record in the file, -U/-D included.
	RecordCount, SizeBytes int64
	// MinKey and MaxKey are the smallest and largest primary keys as text.
	MinKey, MaxKey           string
	MinSequence, MaxSequence int64
	SchemaID, CreationUnixMs int64
	// Tier is where the file lives: "" for the table's (hot) store.
	Tier string
}

// ScanSpec chooses the snapshot and gives pruning hints.
type ScanSpec struct {
	// SnapshotID reads that snapshot; 0 means latest unless AsOfMillis set.
	SnapshotID int64
	// AsOfMillis reads the latest snapshot committed at or before this
	// time (Unix ms); 0 means unset.
	AsOfMillis int64
	// Tag reads the snapshot a tag names (tables with the History
	// capability); "" means unset.
	Tag string
	// Equals are column position → value equalities that every returned
	// row must satisfy; the table uses them to prune partitions, buckets
	// and files (and does a point lookup when they cover the key). The
	// engine still evaluates the full WHERE clause itself.
	Equals map[int]types.Value
	// Keys, when not nil, are full primary keys (values in key column
	// order) one of which every returned row has: a table may read just
	// those keys (WHERE pk IN (…)). The engine still evaluates the full
	// WHERE clause itself.
	Keys [][]types.Value
	// SnapshotSchema asks for the rows in the schema the snapshot was
	// written with (the Scan reports it through Schema()); Equals then
	// refers to positions in that schema. Tables without schema versions
	// ignore it.
	SnapshotSchema bool
	// Columns, when not nil, lists the column positions the engine reads;
	// a table may then leave the other columns of its rows NULL (and
	// skip decoding them). Nil means every column.
	Columns []int
	// Ranges are column position → value ranges every returned row is
	// in (prune_range.go); like Equals they only prune.
	Ranges map[int]ColumnRange
}

// SchemaEvolver is an optional Catalog capability (discovered by type
// assertion): ALTER TABLE.
type SchemaEvolver interface {
	// AlterTable applies changes as one new schema version and returns
	// it; with dryRun it only checks them and writes nothing.
	AlterTable(ctx context.Context, db, table string, changes []catalog.SchemaChange, dryRun bool) (*types.Schema, error)
}

// SchemaVersions is an optional Table capability: the table keeps its
// schema versions (t$schemas, time travel with a snapshot's own schema).
type SchemaVersions interface {
	// Schemas lists every schema version in ascending id order.
	Schemas(ctx context.Context) ([]*types.Schema, error)
	// SnapshotSchema resolves the snapshot spec selects (by id or time)
	// and returns its id and the schema it was written with; an unknown
	// snapshot wraps types.ErrNotFound.
	SnapshotSchema(ctx context.Context, spec ScanSpec) (int64, *types.Schema, error)
}

// Scan is an opened scan.
type Scan interface {
	// SnapshotID is the snapshot being read (0 for an empty table).
	SnapshotID() int64
	// Rows yields rows; iteration stops at the first error.
	Rows(ctx context.Context) iter.Seq2[types.Row, error]
}

// BatchScan is an optional Scan capability (discovered by type
// assertion): the same rows as Arrow record batches of the scan's schema
// (types.ArrowSchema), the form the executor works on. A batch is valid
// only until the loop body returns. Scans without it are adapted from
// Rows.
type BatchScan interface {
	Batches(ctx context.Context) iter.Seq2[arrow.Record, error]
}

// Change is one changelog row.
type Change struct {
	Kind types.RowKind
	Row  types.Row
}
