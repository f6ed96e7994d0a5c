package icebergview

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	iceio "github.com/apache/iceberg-go/io"
	icetable "github.com/apache/iceberg-go/table"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/table"
	"github.com/siltdb/silt/types"
)

// fakeClock is a test clock advanced by each reading.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Second)
	return c.t
}

// advance moves the clock forward by d.
func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// schemaStore is a SchemaLoader over a list of schema versions.
type schemaStore struct {
	mu       sync.Mutex
	versions []*types.Schema
}

func (s *schemaStore) LoadSchema(_ context.Context, id int64) (*types.Schema, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range s.versions {
		if v.ID == id {
			return v, nil
		}
	}
	return nil, fmt.Errorf("%w: schema %d", types.ErrNotFound, id)
}

func (s *schemaStore) LatestSchema(context.Context) (*types.Schema, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.versions[len(s.versions)-1], nil
}

func (s *schemaStore) CheckWriter(context.Context, *types.Schema) error { return nil }

func (s *schemaStore) add(v *types.Schema) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.versions = append(s.versions, v)
}

// fixture is one table on a local store with the view published through
// Env.AfterChange.
type fixture struct {
	dir     string
	coldDir string // the cold tier: a local directory
	store   objstore.Store
	clock   *fakeClock
	pub     *Publisher
	schemas *schemaStore
	tbl     *table.Table
	mu      sync.Mutex
	errs    []error
	// off turns the view off for the table (as its option
	// metadata.iceberg.enabled = false would) until it is cleared.
	off atomic.Bool
}

const testRoot = "db/t/"

func newFixture(t *testing.T, store objstore.Store, dir string, s *types.Schema) *fixture {
	t.Helper()
	f := &fixture{dir: dir, coldDir: t.TempDir(), store: store, clock: &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}, schemas: &schemaStore{}}
	if s.HighestFieldID == 0 {
		for i := range s.Fields {
			s.Fields[i].ID = i
		}
		s.HighestFieldID = len(s.Fields) - 1
		for i := range s.Fields {
			types.AssignNestedIDs(&s.Fields[i].Type, func() int { s.HighestFieldID++; return s.HighestFieldID })
		}
	}
	f.schemas.add(s)
	f.pub = &Publisher{Base: LocalBase(dir), Default: os.Getenv("NOPUB") == "", Now: f.clock.Now,
		OnError: func(name string, err error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.errs = append(f.errs, err)
		}}
	f.open(t, s)
	return f
}

func (f *fixture) open(t *testing.T, s *types.Schema) {
	t.Helper()
	hook := f.pub.Hook()
	after := func(ctx context.Context, t *table.Table) {
		if !f.off.Load() {
			hook(ctx, t)
		}
	}
	tbl, err := table.Open("db.t", f.store, testRoot, s, table.Env{Now: f.clock.Now, Schemas: f.schemas, AfterChange: after,
		ColdURI: f.coldDir, OpenStore: func(_ context.Context, uri string) (objstore.Store, error) { return objstore.NewLocal(uri) }})
	if err != nil {
		t.Fatal(err)
	}
	f.tbl = tbl
}

// checkNoErrors fails on any publication error seen by the hook.
func (f *fixture) checkNoErrors(t *testing.T) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, err := range f.errs {
		t.Errorf("publication failed: %v", err)
	}
	f.errs = nil
}

// iceTable opens the current Iceberg view with iceberg-go and its local
// file IO.
func (f *fixture) iceTable(t *testing.T, ctx context.Context) *icetable.Table {
	t.Helper()
	loc, _, err := Current(ctx, f.store, testRoot)
	if err != nil {
		t.Fatal(err)
	}
	it, err := icetable.NewFromLocation(ctx, icetable.Identifier{"db", "t"}, loc,
		func(context.Context) (iceio.IO, error) { return iceio.LocalFS{}, nil }, nil)
	if err != nil {
		t.Fatalf("iceberg-go cannot open %s: %v", loc, err)
	}
	return it
}

// iceRows reads an Iceberg snapshot with iceberg-go's scan and renders
// its rows with the silt schema s (columns matched by name), sorted.
func iceRows(t *testing.T, ctx context.Context, it *icetable.Table, snapID int64, s *types.Schema) []string {
	t.Helper()
	scan := it.Scan(icetable.WithSnapshotID(snapID))
	tbl, err := scan.ToArrowTable(ctx)
	if err != nil {
		t.Fatalf("iceberg scan of snapshot %d: %v", snapID, err)
	}
	defer tbl.Release()
	var out []string
	tr := array.NewTableReader(tbl, 1024)
	defer tr.Release()
	for tr.Next() {
		rec := tr.RecordBatch()
		cols := make([]arrow.Array, len(s.Fields))
		for i, fl := range s.Fields {
			idx := rec.Schema().FieldIndices(fl.Name)
			if len(idx) == 0 {
				t.Fatalf("iceberg scan of snapshot %d has no column %q (schema %v)", snapID, fl.Name, rec.Schema())
			}
			cols[i] = rec.Column(idx[0])
		}
		for r := 0; r < int(rec.NumRows()); r++ {
			row := make(types.Row, len(cols))
			for i, c := range cols {
				row[i] = arrowValueOf(t, c, r, s.Fields[i].Type)
			}
			out = append(out, renderRow(row, s))
		}
	}
	slices.Sort(out)
	return out
}

func arrowValue(t *testing.T, c arrow.Array, r int) types.Value {
	if c.IsNull(r) {
		return nil
	}
	switch a := c.(type) {
	case *array.Boolean:
		return a.Value(r)
	case *array.Int32:
		return a.Value(r)
	case *array.Int64:
		return a.Value(r)
	case *array.Float32:
		return a.Value(r)
	case *array.Float64:
		return a.Value(r)
	case *array.String:
		return a.Value(r)
	case *array.LargeString:
		return a.Value(r)
	case *array.Binary:
		return a.Value(r)
	case *array.LargeBinary:
		return a.Value(r)
	case *array.Date32:
		return types.Date(a.Value(r))
	case *array.Timestamp:
		if u := a.DataType().(*arrow.TimestampType).Unit; u != arrow.Microsecond {
			t.Fatalf("timestamp unit %v, want microseconds", u)
		}
		if a.DataType().(*arrow.TimestampType).TimeZone != "" {
			return types.TimestampLTZ(a.Value(r))
		}
		return types.Timestamp(a.Value(r))
	case *array.Time64:
		return types.TimeOfDay(a.Value(r))
	case *array.FixedSizeBinary:
		return types.UUID(a.Value(r))
	case array.ExtensionArray: // iceberg-go reads a uuid column as Arrow's UUID extension
		if s, ok := a.Storage().(*array.FixedSizeBinary); ok {
			return types.UUID(s.Value(r))
		}
	case *array.Decimal128:
		return types.Decimal(a.Value(r).LowBits())
	}
	t.Fatalf("unexpected arrow type %s", c.DataType())
	return nil
}

func renderRow(r types.Row, s *types.Schema) string {
	parts := make([]string, len(r))
	for i, v := range r {
		parts[i] = types.FormatValue(v, s.Fields[i].Type)
	}
	return strings.Join(parts, "|")
}

// siltRows is SELECT * of tbl (a table or branch view) at snapshot id.
func siltRows(t *testing.T, ctx context.Context, tbl *table.Table, id int64, tag string) []string {
	t.Helper()
	o := table.ScanOptions{SnapshotID: id, Tag: tag}
	scan, err := tbl.NewScan(ctx, o)
	if err != nil {
		t.Fatalf("silt scan %+v: %v", o, err)
	}
	var out []string
	for row, err := range scan.Rows(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, renderRow(row, tbl.Schema()))
	}
	slices.Sort(out)
	return out
}

func diffRows(want, got []string) string {
	if slices.Equal(want, got) {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d rows in silt, %d in iceberg\n", len(want), len(got))
	wm := map[string]int{}
	for _, w := range want {
		wm[w]++
	}
	for _, g := range got {
		wm[g]--
	}
	n := 0
	for k, v := range wm {
		if v != 0 && n < 10 {
			fmt.Fprintf(&b, "  %+d %s\n", -v, k)
			n++
		}
	}
	return b.String()
}
