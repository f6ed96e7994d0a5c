package query

import (
	"context"
	"fmt"
	"iter"
	"strconv"

	"github.com/siltdb/silt/catalog"
	"github.com/siltdb/silt/internal/types"
	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/table"
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

func (c *SiltCatalog) ListTables(ctx context.Context, db string) ([]string, error) {
	return c.Cat.ListTables(ctx, db)
}

func (c *SiltCatalog) LoadTable(ctx context.Context, db, name string) (Table, error) {
	t, err := c.Cat.LoadTable(ctx, db, name)
	if err != nil {
		return nil, err
	}
	return &siltTable{t: t, c: c}, nil
}

type siltTable struct {
	t *table.Table
	c *SiltCatalog
}

func (s *siltTable) Schema() *types.Schema { return s.t.Schema() }

func (s *siltTable) Scan(ctx context.Context, spec ScanSpec) (Scan, error) {
	sc, err := s.t.NewScan(ctx, table.ScanOptions{SnapshotID: spec.SnapshotID, AsOfMillis: spec.AsOfMillis, Equals: spec.Equals})
	if err != nil {
		return nil, err
	}
	return siltScan{sc}, nil
}

type siltScan struct{ s *table.Scan }

func (s siltScan) SnapshotID() int64 { return s.s.SnapshotID() }

func (s siltScan) Rows(ctx context.Context) iter.Seq2[types.Row, error] { return s.s.Rows(ctx) }

func (s *siltTable) Apply(ctx context.Context, changes []Change) (int64, error) {
	if len(changes) == 0 {
		return 0, nil
	}
	w := s.t.NewWriter(s.c.User)
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
