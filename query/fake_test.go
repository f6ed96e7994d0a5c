package query

import (
	"context"
	"fmt"
	"iter"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/types"
)

// fakeCatalog is an in-memory Catalog with silt's semantics: primary-key
// upserts, -D/-U retractions, one snapshot per non-empty Apply with
// monotonic commit times, time travel by id or time, and ErrNotFound for
// unknown databases, tables and snapshots. Tables record the ScanSpecs
// they receive so tests can check pushdown.
type fakeCatalog struct {
	mu    sync.Mutex
	dbs   map[string]map[string]*fakeTable
	clock int64 // Unix ms of the next commit
}

func newFakeCatalog() *fakeCatalog {
	return &fakeCatalog{
		dbs:   map[string]map[string]*fakeTable{"default": {}},
		clock: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli(),
	}
}

// tick returns the next commit time; commits are one minute apart.
func (c *fakeCatalog) tick() int64 {
	c.clock += 60_000
	return c.clock
}

func (c *fakeCatalog) CreateDatabase(_ context.Context, name string, ifNotExists bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := types.ValidateIdentifier("database", name); err != nil {
		return err
	}
	if _, ok := c.dbs[name]; ok {
		if ifNotExists {
			return nil
		}
		return fmt.Errorf("%w: database %s already exists", types.ErrConflict, name)
	}
	c.dbs[name] = map[string]*fakeTable{}
	return nil
}

func (c *fakeCatalog) DropDatabase(_ context.Context, name string, ifExists, cascade bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	db, ok := c.dbs[name]
	if !ok {
		if ifExists {
			return nil
		}
		return fmt.Errorf("%w: database %s", types.ErrNotFound, name)
	}
	if len(db) > 0 && !cascade {
		return fmt.Errorf("%w: database %s is not empty (use CASCADE)", types.ErrInvalid, name)
	}
	delete(c.dbs, name)
	return nil
}

func (c *fakeCatalog) ListDatabases(context.Context) ([]string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for n := range c.dbs {
		out = append(out, n)
	}
	slices.Sort(out)
	return out, nil
}

func (c *fakeCatalog) CreateTable(_ context.Context, db, name string, s *types.Schema, ifNotExists bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	d, ok := c.dbs[db]
	if !ok {
		return fmt.Errorf("%w: database %s", types.ErrNotFound, db)
	}
	if err := types.ValidateIdentifier("table", name); err != nil {
		return err
	}
	if _, ok := d[name]; ok {
		if ifNotExists {
			return nil
		}
		return fmt.Errorf("%w: table %s.%s already exists", types.ErrConflict, db, name)
	}
	cp := *s
	cp.ID = 0
	cp.Fields = slices.Clone(s.Fields)
	for i := range cp.Fields {
		cp.Fields[i].ID = i + 1
	}
	cp.HighestFieldID = len(cp.Fields)
	for i := range cp.Fields { // nested field ids, as the catalog assigns them
		cp.Fields[i].Type = types.CloneType(cp.Fields[i].Type)
		types.AssignNestedIDs(&cp.Fields[i].Type, func() int { cp.HighestFieldID++; return cp.HighestFieldID })
	}
	if err := cp.Validate(); err != nil {
		return err
	}
	if b, ok := cp.Options["bucket"]; ok {
		if n, err := strconv.Atoi(b); err != nil || n < 1 {
			return fmt.Errorf("%w: option 'bucket' must be a positive integer, got %q", types.ErrInvalid, b)
		}
	}
	d[name] = &fakeTable{cat: c, schema: &cp}
	return nil
}

func (c *fakeCatalog) DropTable(_ context.Context, db, name string, ifExists bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	d, ok := c.dbs[db]
	if ok {
		if _, ok = d[name]; ok {
			delete(d, name)
			return nil
		}
	}
	if ifExists {
		return nil
	}
	return fmt.Errorf("%w: table %s.%s", types.ErrNotFound, db, name)
}

func (c *fakeCatalog) ListTables(_ context.Context, db string) ([]string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	d, ok := c.dbs[db]
	if !ok {
		return nil, fmt.Errorf("%w: database %s", types.ErrNotFound, db)
	}
	var out []string
	for n := range d {
		out = append(out, n)
	}
	return out, nil
}

func (c *fakeCatalog) LoadTable(_ context.Context, db, name string) (Table, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t, ok := c.dbs[db][name]; ok {
		return t, nil
	}
	return nil, fmt.Errorf("%w: table %s.%s", types.ErrNotFound, db, name)
}

// table returns a table for test inspection.
func (c *fakeCatalog) table(db, name string) *fakeTable {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dbs[db][name]
}

type fakeSnap struct {
	meta manifest.Snapshot
	rows map[string]types.Row // encoded key → row
}

type fakeTable struct {
	cat    *fakeCatalog
	schema *types.Schema
	snaps  []*fakeSnap
	scans  []ScanSpec
	// failApply, when set, makes Apply fail (commit conflicts etc.).
	failApply error
}

func (t *fakeTable) Schema() *types.Schema { return t.schema }

func (t *fakeTable) Apply(_ context.Context, changes []Change) (int64, error) {
	t.cat.mu.Lock()
	defer t.cat.mu.Unlock()
	if len(changes) == 0 {
		return 0, nil
	}
	if t.failApply != nil {
		return 0, t.failApply
	}
	rows := map[string]types.Row{}
	var parent int64
	if n := len(t.snaps); n > 0 {
		parent = t.snaps[n-1].meta.ID
		for k, r := range t.snaps[n-1].rows {
			rows[k] = r
		}
	}
	for i, ch := range changes {
		if !ch.Kind.Valid() {
			return 0, fmt.Errorf("%w: change %d: bad row kind %d", types.ErrInvalid, i, ch.Kind)
		}
		if err := t.schema.CheckRow(ch.Row); err != nil {
			return 0, fmt.Errorf("change %d: %w", i, err)
		}
		k, err := types.EncodeRowKey(nil, ch.Row, t.schema.KeyIndexes())
		if err != nil {
			return 0, err
		}
		if ch.Kind.IsAdd() {
			rows[string(k)] = slices.Clone(ch.Row)
		} else {
			delete(rows, string(k))
		}
	}
	s := &fakeSnap{rows: rows, meta: manifest.Snapshot{
		Version: manifest.FormatVersion, ID: parent + 1, ParentID: parent, CommitUser: "tester",
		CommitIdentifier: strconv.FormatInt(parent+1, 10), CommitKind: manifest.CommitAppend,
		TimeMillis: t.cat.tick(), TotalRecordCount: int64(len(rows)), DeltaRecordCount: int64(len(changes)),
	}}
	t.snaps = append(t.snaps, s)
	return s.meta.ID, nil
}

func (t *fakeTable) Snapshots(context.Context) ([]*manifest.Snapshot, error) {
	t.cat.mu.Lock()
	defer t.cat.mu.Unlock()
	out := make([]*manifest.Snapshot, len(t.snaps))
	for i, s := range t.snaps {
		m := s.meta
		out[i] = &m
	}
	return out, nil
}

// Files reports one level-0 file per snapshot that wrote rows, as a table
// without compaction would.
func (t *fakeTable) Files(_ context.Context, spec ScanSpec) (int64, []FileInfo, error) {
	t.cat.mu.Lock()
	defer t.cat.mu.Unlock()
	var last *fakeSnap
	for _, s := range t.snaps {
		switch {
		case spec.SnapshotID != 0 && s.meta.ID > spec.SnapshotID,
			spec.AsOfMillis != 0 && s.meta.TimeMillis > spec.AsOfMillis:
			continue
		}
		last = s
	}
	if last == nil || (spec.SnapshotID != 0 && last.meta.ID != spec.SnapshotID) {
		if spec.SnapshotID == 0 && spec.AsOfMillis == 0 {
			return 0, nil, nil
		}
		return 0, nil, fmt.Errorf("%w: snapshot", types.ErrNotFound)
	}
	var files []FileInfo
	for _, s := range t.snaps[:last.meta.ID] {
		files = append(files, FileInfo{Path: fmt.Sprintf("data/bucket-0/data-%d.parquet", s.meta.ID),
			RecordCount: s.meta.DeltaRecordCount, SizeBytes: 100 * s.meta.DeltaRecordCount, MinKey: "[1]", MaxKey: "[9]",
			MinSequence: s.meta.ID, MaxSequence: s.meta.ID, CreationUnixMs: s.meta.TimeMillis})
	}
	return last.meta.ID, files, nil
}

func (t *fakeTable) Scan(_ context.Context, spec ScanSpec) (Scan, error) {
	t.cat.mu.Lock()
	defer t.cat.mu.Unlock()
	t.scans = append(t.scans, spec)
	var snap *fakeSnap
	switch {
	case spec.SnapshotID != 0:
		for _, s := range t.snaps {
			if s.meta.ID == spec.SnapshotID {
				snap = s
			}
		}
		if snap == nil {
			return nil, fmt.Errorf("%w: snapshot %d", types.ErrNotFound, spec.SnapshotID)
		}
	case spec.AsOfMillis != 0:
		for _, s := range t.snaps {
			if s.meta.TimeMillis <= spec.AsOfMillis {
				snap = s
			}
		}
		if snap == nil {
			return nil, fmt.Errorf("%w: no snapshot at or before %d", types.ErrNotFound, spec.AsOfMillis)
		}
	case len(t.snaps) > 0:
		snap = t.snaps[len(t.snaps)-1]
	}
	for i, v := range spec.Equals {
		if i < 0 || i >= len(t.schema.Fields) {
			return nil, fmt.Errorf("%w: Equals on column %d out of range", types.ErrInvalid, i)
		}
		if v == nil {
			return nil, fmt.Errorf("%w: NULL in Equals", types.ErrInvalid)
		}
		if err := types.CheckValue(v, t.schema.Fields[i].Type); err != nil {
			return nil, fmt.Errorf("Equals on column %q: %w", t.schema.Fields[i].Name, err)
		}
	}
	sc := &fakeScan{}
	if snap == nil {
		return sc, nil
	}
	sc.id = snap.meta.ID
	keys := make([]string, 0, len(snap.rows))
	for k := range snap.rows {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		r := snap.rows[k]
		ok := true
		for i, v := range spec.Equals {
			ok = ok && types.Equal(r[i], v)
		}
		if ok {
			sc.rows = append(sc.rows, slices.Clone(r))
		}
	}
	return sc, nil
}

type fakeScan struct {
	id   int64
	rows []types.Row
}

func (s *fakeScan) SnapshotID() int64 { return s.id }

func (s *fakeScan) Rows(context.Context) iter.Seq2[types.Row, error] {
	return func(yield func(types.Row, error) bool) {
		for _, r := range s.rows {
			if !yield(r, nil) {
				return
			}
		}
	}
}
