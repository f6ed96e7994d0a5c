package query

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"time"

	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/types"
)

// A relation is what a FROM clause names: a table, or one of its system
// tables (t$snapshots). This file resolves names, opens scans (time travel,
// pushed-down equalities) and checks the rows tables return.

const (
	sysSnapshots = "snapshots"
	sysSchemas   = "schemas"
	sysFiles     = "files"
)

// snapshotsColumns returns the columns of t$snapshots.
func snapshotsColumns() []Column {
	return []Column{
		{"snapshot_id", types.TBigInt},
		{"schema_id", types.TBigInt},
		{"commit_user", types.TString},
		{"commit_identifier", types.TString},
		{"commit_kind", types.TString},
		{"commit_time", types.TTimestamp},
		{"total_record_count", types.TBigInt},
		{"delta_record_count", types.TBigInt},
	}
}

type relation struct {
	db, table string
	branch    string // "" = main
	system    string // "" or sysSnapshots
	t         Table
	schema    *types.Schema // nil for system tables
	cols      []Column
	// changes: the snapshots of table_changes (system sysChanges).
	changesFrom, changesTo *manifest.Snapshot
}

func (r *relation) String() string {
	out := r.db + "." + r.table
	if r.branch != "" {
		out += "$" + branchPrefix + r.branch
	}
	if r.system != "" && r.system != sysChanges {
		out += "$" + r.system
	}
	return out
}

// qualify fills in the current database.
func (e *Engine) qualify(n tableName) (db, table string) {
	if n.db == "" {
		return e.CurrentDB(), n.table
	}
	return n.db, n.table
}

func (e *Engine) resolveTable(ctx context.Context, n tableName) (*relation, error) {
	db, name := e.qualify(n)
	base, branch, sys, err := splitTableName(name)
	if err != nil {
		return nil, err
	}
	isSys := sys != ""
	if isSys && !isSystemTable(sys) {
		return nil, errf(types.ErrNotFound, "unknown system table %s.%s (system tables: %s)", db, name, systemTableList())
	}
	if base == "" {
		return nil, errf(types.ErrInvalid, "bad table name %q", name)
	}
	t, err := e.cat.LoadTable(ctx, db, base)
	if err != nil {
		if errors.Is(err, types.ErrNotFound) {
			return nil, errf(types.ErrNotFound, "unknown table %s.%s%s", db, base, e.tableHint(ctx, db, base))
		}
		return nil, fmt.Errorf("loading table %s.%s: %w", db, base, err)
	}
	r := &relation{db: db, table: base, t: t}
	if err := r.openBranch(ctx, branch); err != nil {
		return nil, err
	}
	if isSys {
		r.system = sys
		r.cols = systemColumns(sys, r.t.Schema())
		return r, nil
	}
	if err := r.setSchema(t.Schema()); err != nil {
		return nil, err
	}
	return r, nil
}

// setSchema makes s the relation's schema: the table's current one, or
// the one a time-travel read uses.
func (r *relation) setSchema(s *types.Schema) error {
	if s == nil || len(s.Fields) == 0 {
		return errf(types.ErrCorruption, "table %s has no schema", r)
	}
	r.schema, r.cols = s, nil
	for _, f := range s.Fields {
		r.cols = append(r.cols, Column{Name: f.Name, Type: f.Type})
	}
	return nil
}

// writable returns an error for relations that cannot be modified.
func (r *relation) writable() error {
	if r.system != "" {
		return errf(types.ErrInvalid, "system table %s is read-only", r)
	}
	return nil
}

// scope returns the columns of r for binding; alias may be "".
func (r *relation) scope(alias string) *scope {
	sc := &scope{where: "in table " + r.String()}
	for _, c := range r.cols {
		sc.cols = append(sc.cols, scopeCol{name: c.Name, t: c.Type})
	}
	sc.quals = []string{r.table}
	if r.system != "" {
		sc.quals = []string{r.table + "$" + r.system}
	}
	if alias != "" {
		sc.quals = append(sc.quals, alias)
	}
	return sc
}

// asOfSpec turns a time-travel clause into a ScanSpec.
func (e *Engine) asOfSpec(tt *timeTravel, r *relation, now time.Time) (ScanSpec, error) {
	if r.system != "" && r.system != sysFiles && r.system != sysManifests {
		return ScanSpec{}, errf(types.ErrInvalid, "time travel is not supported on system table %s", r)
	}
	if tt.version {
		if tt.isTag {
			if _, ok := r.t.(History); !ok {
				return ScanSpec{}, errf(types.ErrInvalid, "VERSION AS OF %s: table %s does not keep tags", quoteString(tt.tag), r.base())
			}
			if err := manifest.ValidateRefName("tag", tt.tag); err != nil {
				return ScanSpec{}, errf(types.ErrInvalid, "VERSION AS OF %s: %s", quoteString(tt.tag), errText(err))
			}
			return ScanSpec{Tag: tt.tag}, nil
		}
		if tt.versionID <= 0 {
			return ScanSpec{}, errf(types.ErrNotFound, "unknown snapshot %d of table %s", tt.versionID, r)
		}
		return ScanSpec{SnapshotID: tt.versionID}, nil
	}
	b := &binder{sc: &scope{where: "(TIMESTAMP AS OF takes a constant)"}, now: now, clause: "TIMESTAMP AS OF"}
	v, err := b.bind(tt.at)
	if err != nil {
		return ScanSpec{}, err
	}
	val, err := v.Eval(nil)
	if err != nil {
		return ScanSpec{}, err
	}
	var ms int64
	switch x := val.(type) {
	case types.Timestamp:
		ms = floorDiv(int64(x), 1000)
	case types.Date:
		ms = int64(x) * 86_400_000
	case string:
		ts, err := types.ParseTimestamp(x)
		if err != nil {
			return ScanSpec{}, errf(types.ErrInvalid, "TIMESTAMP AS OF: %s", errText(err))
		}
		ms = floorDiv(int64(ts), 1000)
	case int32:
		ms = int64(x)
	case int64:
		ms = x
	default:
		return ScanSpec{}, errf(types.ErrInvalid, "TIMESTAMP AS OF needs a timestamp, a 'YYYY-MM-DD HH:MM:SS' string or Unix milliseconds, got %s", tt.at)
	}
	if ms <= 0 {
		return ScanSpec{}, errf(types.ErrNotFound, "no snapshot of table %s at or before %s", r, fmtMillis(ms))
	}
	return ScanSpec{AsOfMillis: ms}, nil
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func fmtMillis(ms int64) string {
	return time.UnixMilli(ms).UTC().Format("2006-01-02 15:04:05.000 UTC")
}

// scan opens r at spec and returns the snapshot read and the rows, in the
// order of r.cols, checked against the column types.
func (e *Engine) scan(ctx context.Context, r *relation, spec ScanSpec) (int64, iter.Seq2[types.Row, error], error) {
	if r.system == sysSnapshots {
		snaps, err := r.t.Snapshots(ctx)
		if err != nil {
			return 0, nil, fmt.Errorf("listing snapshots of %s: %w", r, err)
		}
		rows := make([]types.Row, 0, len(snaps))
		for _, s := range snaps {
			if s == nil {
				continue
			}
			rows = append(rows, types.Row{s.ID, s.SchemaID, s.CommitUser, s.CommitIdentifier, string(s.CommitKind),
				types.Timestamp(s.TimeMillis * 1000), s.TotalRecordCount, s.DeltaRecordCount})
		}
		return 0, func(yield func(types.Row, error) bool) {
			for _, row := range rows {
				if !yield(row, nil) {
					return
				}
			}
		}, nil
	}
	if r.system == sysFiles {
		return r.fileRows(ctx, spec)
	}
	if r.system != "" && r.system != sysSchemas {
		return e.systemRows(ctx, r, spec)
	}
	if r.system == sysSchemas {
		rows, err := r.schemaRows(ctx)
		if err != nil {
			return 0, nil, err
		}
		return 0, func(yield func(types.Row, error) bool) {
			for _, row := range rows {
				if !yield(row, nil) {
					return
				}
			}
		}, nil
	}
	sc, err := r.t.Scan(ctx, spec)
	if err != nil {
		return 0, nil, r.scanErr(spec, err)
	}
	remap := r.remap(sc)
	return sc.SnapshotID(), func(yield func(types.Row, error) bool) {
		for row, err := range sc.Rows(ctx) {
			if err != nil {
				yield(nil, fmt.Errorf("reading %s: %w", r, err))
				return
			}
			if remap != nil {
				row = remap(row)
			}
			if err := r.checkRow(row); err != nil {
				yield(nil, err)
				return
			}
			if !yield(row, nil) {
				return
			}
		}
	}, nil
}

// scanErr turns a failed scan into a message naming the snapshot.
func (r *relation) scanErr(spec ScanSpec, err error) error {
	if errors.Is(err, types.ErrNotFound) {
		switch {
		case spec.Tag != "":
			return errf(types.ErrNotFound, "unknown tag %s of table %s", quoteString(spec.Tag), r.base())
		case spec.SnapshotID != 0:
			var nf *manifest.SnapshotNotFoundError
			if errors.As(err, &nf) && nf.Hint() != "" {
				return errf(types.ErrNotFound, "unknown snapshot %d of table %s %s", spec.SnapshotID, r, nf.Hint())
			}
			return errf(types.ErrNotFound, "unknown snapshot %d of table %s", spec.SnapshotID, r)
		case spec.AsOfMillis != 0:
			return errf(types.ErrNotFound, "no snapshot of table %s at or before %s", r, fmtMillis(spec.AsOfMillis))
		}
	}
	return fmt.Errorf("scanning %s: %w", r, err)
}

// remap returns a function that reorders rows of an older schema into the
// current one when the scan reports a schema (an optional capability,
// discovered by type assertion) whose fields differ; nil if none is needed.
// Columns added since are NULL.
func (r *relation) remap(sc Scan) func(types.Row) types.Row {
	ss, ok := sc.(interface{ Schema() *types.Schema })
	if !ok {
		return nil
	}
	old := ss.Schema()
	if old == nil || sameFields(old, r.schema) {
		return nil
	}
	pos := make([]int, len(r.schema.Fields))
	for i, f := range r.schema.Fields {
		pos[i] = old.FieldByID(f.ID)
	}
	return func(in types.Row) types.Row {
		out := make(types.Row, len(pos))
		for i, p := range pos {
			if p >= 0 && p < len(in) {
				out[i] = in[p]
			}
		}
		return out
	}
}

func sameFields(a, b *types.Schema) bool {
	if len(a.Fields) != len(b.Fields) {
		return false
	}
	for i := range a.Fields {
		if a.Fields[i].ID != b.Fields[i].ID {
			return false
		}
	}
	return true
}

// checkRow guards the executor against rows that do not match the schema.
func (r *relation) checkRow(row types.Row) error {
	if len(row) != len(r.cols) {
		return errf(types.ErrCorruption, "table %s returned a row of %d values, want %d", r, len(row), len(r.cols))
	}
	for i, c := range r.cols {
		if err := types.CheckValue(row[i], c.Type); err != nil {
			return r.badValueErr(c, err)
		}
	}
	return nil
}

// badValueErr is the error for a stored value that does not fit its column.
// A DECIMAL that outgrew its precision is what a sum of the aggregation
// merge engine produces when the total needs more digits than the column
// has: the stored value is intact, and widening the column reads it.
func (r *relation) badValueErr(c Column, err error) error {
	if c.Type.Kind == types.DecimalKind && c.Type.Precision < types.MaxDecimal64Precision {
		return errf(types.ErrCorruption, "table %s returned a bad value for column %q: %s (an aggregate such as sum can outgrow the column's precision; widen it to read the value: ALTER TABLE %s ALTER COLUMN %s TYPE DECIMAL(%d,%d))",
			r, c.Name, errText(err), r.base(), quoteIdent(c.Name), types.MaxDecimal64Precision, c.Type.Scale)
	}
	return errf(types.ErrCorruption, "table %s returned a bad value for column %q: %s", r, c.Name, errText(err))
}

// pushdown collects the conjunctive "column = constant" predicates of a
// bound WHERE clause whose constant already has the column's type, as
// ScanSpec.Equals. The engine still evaluates the whole clause. As in other
// SQL engines, rows the table prunes are never evaluated, so a runtime
// error the rest of the clause would raise on them (division by zero) does
// not occur.
func pushdown(where bexpr) map[int]types.Value {
	eq := map[int]types.Value{}
	var rec func(b bexpr)
	rec = func(b bexpr) {
		switch x := b.(type) {
		case *andB:
			rec(x.l)
			rec(x.r)
		case *cmpB:
			if x.op != "=" {
				return
			}
			col, ok1 := x.l.(*colB)
			c, ok2 := x.r.(*constB)
			if !ok1 || !ok2 {
				col, ok1 = x.r.(*colB)
				c, ok2 = x.l.(*constB)
			}
			if ok1 && ok2 && c.v != nil && c.t.Equal(col.t) {
				if _, dup := eq[col.idx]; !dup {
					eq[col.idx] = c.v
				}
			}
		}
	}
	if where != nil {
		rec(where)
	}
	if len(eq) == 0 {
		return nil
	}
	return eq
}

// filesColumns returns the columns of t$files.
func filesColumns() []Column {
	return []Column{
		{"partition", types.TString},
		{"bucket", types.TInt},
		{"level", types.TInt},
		{"file_path", types.TString},
		{"record_count", types.TBigInt},
		{"file_size_in_bytes", types.TBigInt},
		{"min_key", types.TString},
		{"max_key", types.TString},
		{"min_sequence", types.TBigInt},
		{"max_sequence", types.TBigInt},
		{"schema_id", types.TBigInt},
		{"creation_time", types.TTimestamp},
		{"tier", types.TString},
	}
}

// fileRows lists the live data files of the snapshot spec selects.
func (r *relation) fileRows(ctx context.Context, spec ScanSpec) (int64, iter.Seq2[types.Row, error], error) {
	id, files, err := r.t.Files(ctx, spec)
	if err != nil {
		return 0, nil, r.scanErr(spec, err)
	}
	return id, func(yield func(types.Row, error) bool) {
		for _, f := range files {
			row := types.Row{f.Partition, int32(f.Bucket), int32(f.Level), f.Path, f.RecordCount, f.SizeBytes,
				f.MinKey, f.MaxKey, f.MinSequence, f.MaxSequence, f.SchemaID, types.Timestamp(f.CreationUnixMs * 1000), tierName(f.Tier)}
			if !yield(row, nil) {
				return
			}
		}
	}, nil
}
