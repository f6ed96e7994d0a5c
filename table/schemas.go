package table

import (
	"context"
	"fmt"

	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/types"
)

// SchemaLoader gives a table access to its other schema versions. The
// catalog provides one per table (it sets Env.Schemas when it opens a
// table). A table opened without one reads every snapshot with its own
// schema and does not check its writers against newer schemas.
type SchemaLoader interface {
	// LoadSchema returns schema version id; an unknown id wraps
	// types.ErrNotFound.
	LoadSchema(ctx context.Context, id int64) (*types.Schema, error)
	// LatestSchema returns the newest schema version (never cached).
	LatestSchema(ctx context.Context) (*types.Schema, error)
	// CheckWriter returns nil if data written with schema w may still be
	// committed: w is the latest schema, or the table's compatibility mode
	// lets readers of the latest schema read data written with w.
	// Otherwise the error names the rule and the column.
	CheckWriter(ctx context.Context, w *types.Schema) error
}

// AtSchema returns a view of the table with schema version id: scans map
// data files to it by field id and writers write it. The view shares the
// table's snapshots. Without a SchemaLoader only the table's own schema is
// available.
func (t *Table) AtSchema(ctx context.Context, id int64) (*Table, error) {
	if id == t.schema.ID {
		return t, nil
	}
	if t.env.Schemas == nil {
		return nil, fmt.Errorf("%w: table %s: schema %d is not available (no schema loader)", types.ErrNotFound, t.name, id)
	}
	s, err := t.env.Schemas.LoadSchema(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("table %s: %w", t.name, err)
	}
	return t.withSchema(s)
}

// AtLatestSchema returns a view of the table with its newest schema
// version (the table itself without a SchemaLoader). Whatever rewrites
// data files (compaction) must use it: a table opened before an ALTER
// would drop the columns added since, and fail on widened ones.
func (t *Table) AtLatestSchema(ctx context.Context) (*Table, error) {
	if t.env.Schemas == nil {
		return t, nil
	}
	s, err := t.env.Schemas.LatestSchema(ctx)
	if err != nil {
		return nil, fmt.Errorf("table %s: %w", t.name, err)
	}
	if s.ID == t.schema.ID {
		return t, nil
	}
	return t.withSchema(s)
}

// withSchema returns a view of t with schema s.
func (t *Table) withSchema(s *types.Schema) (*Table, error) {
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("table %s: schema %d: %w", t.name, s.ID, err)
	}
	opts, err := ParseOptions(s.Options)
	if err != nil {
		return nil, fmt.Errorf("table %s: schema %d: %w", t.name, s.ID, err)
	}
	merger, err := NewMergeEngine(s)
	if err != nil {
		return nil, fmt.Errorf("table %s: schema %d: %w", t.name, s.ID, err)
	}
	v := *t
	v.schema, v.opts, v.merger = s, opts, merger
	v.keyIdx, v.partIdx, v.bucketIdx = s.KeyIndexes(), s.PartitionIndexes(), s.BucketKeyIndexes()
	return &v, nil
}

// snapshotSchemaID is the schema a snapshot is read with by time travel:
// the newest of the schema its commit recorded and the schemas its live
// data files were written with. A writer opened on an older schema may
// commit after a newer one, so the commit's own schema can be older than
// data the snapshot holds; the newest schema reads all of it.
func snapshotSchemaID(snap *manifest.Snapshot, files []manifest.DataFile) int64 {
	id := snap.SchemaID
	for _, f := range files {
		id = max(id, f.SchemaID)
	}
	return id
}

// checkWriter verifies before a commit that data written with the table's
// schema may still be committed (see SchemaLoader.CheckWriter).
func (t *Table) checkWriter(ctx context.Context) error {
	if t.env.Schemas == nil {
		return nil
	}
	if err := t.env.Schemas.CheckWriter(ctx, t.schema); err != nil {
		return fmt.Errorf("table %s: writer on schema %d: %w", t.name, t.schema.ID, err)
	}
	return nil
}
