package query

import (
	"context"
	"fmt"
	"iter"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/siltdb/silt/catalog"
	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/table"
	"github.com/siltdb/silt/types"
)

// SiltCatalog adapts silt's catalog to the engine's Catalog interface. Each
// adapter commits SQL statements as one commit user (one per session), with
// the statement counter as commit identifier.
type SiltCatalog struct {
	Cat  *catalog.Catalog
	User string

	stmt int64
}

// NewSiltCatalog wraps cat; user names the session's commits.
func NewSiltCatalog(cat *catalog.Catalog, user string) *SiltCatalog {
	return &SiltCatalog{Cat: cat, User: user}
}

func (c *SiltCatalog) CreateDatabase(ctx context.Context, name string, ifNotExists bool) error {
	return c.Cat.CreateDatabase(ctx, name, ifNotExists)
}

func (c *SiltCatalog) DropDatabase(ctx context.Context, name string, ifExists, cascade bool) error {
	return c.Cat.DropDatabase(ctx, name, ifExists, cascade)
}

func (c *SiltCatalog) ListDatabases(ctx context.Context) ([]string, error) {
	return c.Cat.ListDatabases(ctx)
}

func (c *SiltCatalog) CreateTable(ctx context.Context, db, name string, s *types.Schema, ifNotExists bool) error {
	_, err := c.Cat.CreateTable(ctx, db, name, s, ifNotExists)
	return err
}

func (c *SiltCatalog) DropTable(ctx context.Context, db, name string, ifExists bool) error {
	return c.Cat.DropTable(ctx, db, name, ifExists)
}

// DropTableWarn drops a table (and its cold-tier copies) and returns a
// warning when copies remain in a cold tier this process cannot open.
func (c *SiltCatalog) DropTableWarn(ctx context.Context, db, name string, ifExists bool) (string, error) {
	res, err := c.Cat.DropTableResult(ctx, db, name, ifExists)
	return res.Warning, err
}

func (c *SiltCatalog) ListTables(ctx context.Context, db string) ([]string, error) {
	return c.Cat.ListTables(ctx, db)
}

func (c *SiltCatalog) LoadTable(ctx context.Context, db, name string) (Table, error) {
	t, err := c.Cat.LoadTable(ctx, db, name)
	if err != nil {
		return nil, err
	}
	return &siltTable{t: t, c: c, db: db, name: name}, nil
}

// AlterTable implements SchemaEvolver.
func (c *SiltCatalog) AlterTable(ctx context.Context, db, name string, changes []catalog.SchemaChange, dryRun bool) (*types.Schema, error) {
	if dryRun {
		return c.Cat.CheckAlter(ctx, db, name, changes)
	}
	return c.Cat.AlterTable(ctx, db, name, changes)
}

type siltTable struct {
	t        *table.Table
	c        *SiltCatalog
	db, name string
}

func (s *siltTable) Schema() *types.Schema { return s.t.Schema() }

func (s *siltTable) Scan(ctx context.Context, spec ScanSpec) (Scan, error) {
	if spec.Keys != nil && !spec.SnapshotSchema {
		return s.scanKeys(ctx, spec)
	}
	sc, err := s.t.NewScan(ctx, table.ScanOptions{SnapshotID: spec.SnapshotID, AsOfMillis: spec.AsOfMillis, Tag: spec.Tag, Equals: spec.Equals, SnapshotSchema: spec.SnapshotSchema, Columns: spec.Columns, Ranges: spec.Ranges})
	if err != nil {
		return nil, err
	}
	return siltScan{sc}, nil
}

// Schemas implements SchemaVersions.
func (s *siltTable) Schemas(ctx context.Context) ([]*types.Schema, error) {
	return s.c.Cat.Schemas(ctx, s.db, s.name)
}

// SnapshotSchema implements SchemaVersions.
func (s *siltTable) SnapshotSchema(ctx context.Context, spec ScanSpec) (int64, *types.Schema, error) {
	sc, err := s.t.NewScan(ctx, table.ScanOptions{SnapshotID: spec.SnapshotID, AsOfMillis: spec.AsOfMillis, Tag: spec.Tag, SnapshotSchema: true})
	if err != nil {
		return 0, nil, err
	}
	_ = sc.Close(ctx) // planning only: release the lease of an older snapshot
	return sc.SnapshotID(), sc.Schema(), nil
}

type siltScan struct{ s *table.Scan }

func (s siltScan) SnapshotID() int64 { return s.s.SnapshotID() }

// Schema reports the schema of the rows (see Table.Scan).
func (s siltScan) Schema() *types.Schema { return s.s.Schema() }

// Batches implements BatchScan; like Rows, it closes the scan when the
// iteration ends.
func (s siltScan) Batches(ctx context.Context) iter.Seq2[arrow.Record, error] {
	return func(yield func(arrow.Record, error) bool) {
		defer func() { _ = s.s.Close(context.WithoutCancel(ctx)) }()
		for b, err := range s.s.Batches(ctx) {
			if !yield(b, err) {
				return
			}
		}
	}
}

// Rows yields the scan's rows; when the iteration ends the scan is closed
// (releasing the lease a read of an older snapshot holds; an iteration
// never started leaves it to expire after snapshot.lease-ttl).

func (s siltScan) Rows(ctx context.Context) iter.Seq2[types.Row, error] {
	return func(yield func(types.Row, error) bool) {
		defer func() { _ = s.s.Close(context.WithoutCancel(ctx)) }()
		for row, err := range s.s.Rows(ctx) {
			if !yield(row, err) {
				return
			}
		}
	}
}

func (s *siltTable) Apply(ctx context.Context, changes []Change) (int64, error) {
	if len(changes) == 0 {
		return 0, nil
	}
	w := s.t.NewWriter(s.c.User)
	// Close waits for a compaction round the commit may have started, so a
	// one-shot statement does not abandon it half-uploaded at exit.
	defer func() { _ = w.Close(ctx) }()
	for i, ch := range changes {
		if err := w.Write(ctx, ch.Kind, ch.Row); err != nil {
			_ = w.Abort(ctx)
			return 0, fmt.Errorf("row %d: %w", i+1, err)
		}
	}
	s.c.stmt++
	// The session's user is freshly generated and each statement gets a new
	// identifier, so no earlier attempt can exist.
	snap, err := w.CommitWith(ctx, table.CommitRequest{Identifier: strconv.FormatInt(s.c.stmt, 10), Fresh: true})
	if err != nil {
		_ = w.Abort(ctx)
		return 0, err
	}
	if snap == nil {
		return 0, nil
	}
	return snap.ID, nil
}

func (s *siltTable) Snapshots(ctx context.Context) ([]*manifest.Snapshot, error) {
	return s.t.Meta().Snapshots(ctx)
}

func (s *siltTable) Files(ctx context.Context, spec ScanSpec) (int64, []FileInfo, error) {
	snap, err := s.t.ResolveRef(ctx, table.Ref{SnapshotID: spec.SnapshotID, AsOfMillis: spec.AsOfMillis, Tag: spec.Tag})
	if err != nil || snap == nil {
		return 0, nil, err
	}
	files, err := s.t.Meta().Files(ctx, snap)
	if err != nil {
		return 0, nil, err
	}
	out := make([]FileInfo, len(files))
	for i, f := range files {
		out[i] = FileInfo{Partition: f.Partition, Bucket: f.Bucket, Level: f.Level, Path: f.Path,
			RecordCount: f.RowCount, SizeBytes: f.Size, MinKey: s.t.FormatKey(f.MinKey), MaxKey: s.t.FormatKey(f.MaxKey),
			MinSequence: f.MinSeq, MaxSequence: f.MaxSeq, SchemaID: f.SchemaID, CreationUnixMs: f.CreatedMillis, Tier: f.Tier}
	}
	return snap.ID, out, nil
}
