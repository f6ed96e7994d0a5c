package query

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/siltdb/silt/catalog"
	"github.com/siltdb/silt/types"
)

// Schema evolution in SQL: ALTER TABLE, its dry run (CheckAlter), the
// t$schemas system table, time travel with a snapshot's own schema, and
// column defaults for INSERT.

// execAlter runs ALTER TABLE (dryRun: only checks it).
func (e *Engine) execAlter(ctx context.Context, s *alterTableStmt, dryRun bool) (*Result, *types.Schema, error) {
	db, name := e.qualify(s.table)
	if base, branch, _, err := splitTableName(name); err == nil && branch != "" {
		return nil, nil, errf(types.ErrInvalid, "schema changes on branch %s are not supported: branches share the table's schema (alter %s.%s instead)", branch, db, base)
	}
	if strings.Contains(name, "$") {
		return nil, nil, errf(types.ErrInvalid, "cannot alter system table %s.%s", db, name)
	}
	ev, ok := e.cat.(SchemaEvolver)
	if !ok {
		return nil, nil, errf(types.ErrInvalid, "ALTER TABLE is not supported by this catalog")
	}
	changes, err := alterChanges(s)
	if err != nil {
		return nil, nil, err
	}
	before, err := e.cat.LoadTable(ctx, db, name)
	if err != nil {
		if errors.Is(err, types.ErrNotFound) {
			return nil, nil, errf(types.ErrNotFound, "unknown table %s.%s%s", db, name, e.tableHint(ctx, db, name))
		}
		return nil, nil, err
	}
	after, err := ev.AlterTable(ctx, db, name, changes, dryRun)
	if err != nil {
		return nil, nil, err
	}
	msg := "ALTER TABLE (schema " + strconv.FormatInt(after.ID, 10) + ")"
	if cur := before.Schema(); cur != nil && after.ID == cur.ID {
		msg = "ALTER TABLE (no change)"
	}
	return &Result{Message: msg}, after, nil
}

// alterChanges converts the actions of an ALTER TABLE statement.
func alterChanges(s *alterTableStmt) ([]catalog.SchemaChange, error) {
	out := make([]catalog.SchemaChange, 0, len(s.actions))
	for _, a := range s.actions {
		c := catalog.SchemaChange{Kind: a.kind, Column: a.column, NewName: a.newName, Type: a.typ,
			NotNull: a.notNull, Comment: a.comment, IfExists: a.ifExists, IfNotExists: a.ifNotExists,
			Position: catalog.ColumnPosition{First: a.first, After: a.after}, Keys: a.keys}
		switch a.kind {
		case catalog.AddColumn:
			c.Type, c.NotNull, c.Comment = a.col.typ, a.col.notNull, a.col.comment
			def, err := defaultText(a.col)
			if err != nil {
				return nil, err
			}
			c.Default = def
		case catalog.SetOptions:
			c.Options = map[string]string{}
			for _, o := range a.options {
				if _, dup := c.Options[o.key]; dup {
					return nil, errf(types.ErrInvalid, "option %q given twice", o.key)
				}
				c.Options[o.key] = o.value
			}
		}
		out = append(out, c)
	}
	return out, nil
}

// defaultText converts a column's DEFAULT literal to the column type and
// returns its canonical text, or nil for no default (or DEFAULT NULL).
func defaultText(c columnDef) (*string, error) {
	if c.def == nil {
		return nil, nil
	}
	v, err := coerceLiteral(c.def, c.typ)
	if err != nil {
		return nil, errf(types.ErrInvalid, "column %q: DEFAULT %s: %s", c.name, c.def, errText(err))
	}
	if v == nil {
		return nil, nil
	}
	text := types.FormatValue(v, c.typ)
	return &text, nil
}

// CheckAlter dry-runs one ALTER TABLE statement against tableName (db.table
// or a table of the current database): it returns the schema the statement
// would produce, or the error it would fail with, and changes nothing. sql
// is either a whole "ALTER TABLE …" statement naming the same table, or
// only its actions ("ADD COLUMN c INT, DROP COLUMN d").
func (e *Engine) CheckAlter(ctx context.Context, tableName, sql string) (*types.Schema, error) {
	named, _, err := parseScript(ctx, "DESCRIBE "+tableName)
	if err != nil || len(named) != 1 {
		return nil, errf(types.ErrInvalid, "bad table name %q", tableName)
	}
	want := named[0].stmt.(*describeStmt).table
	prefixed := !startsWithKeywords(sql, "ALTER", "TABLE")
	if prefixed { // on a line of its own, so positions in sql stay right
		sql = "ALTER TABLE " + want.String() + "\n" + sql
	}
	stmts, _, err := parseScript(ctx, sql)
	if err != nil {
		var se *SyntaxError
		if prefixed && errors.As(err, &se) && se.Line > 1 {
			se.Line--
		}
		return nil, err
	}
	if len(stmts) != 1 {
		return nil, errf(types.ErrInvalid, "expected one ALTER TABLE statement, got %d", len(stmts))
	}
	s, ok := stmts[0].stmt.(*alterTableStmt)
	if !ok {
		return nil, errf(types.ErrInvalid, "expected an ALTER TABLE statement")
	}
	wdb, wname := e.qualify(want)
	if db, name := e.qualify(s.table); db != wdb || name != wname {
		return nil, errf(types.ErrInvalid, "the statement alters %s.%s, not %s.%s", db, name, wdb, wname)
	}
	_, after, err := e.execAlter(ctx, s, true)
	return after, err
}

func startsWithKeywords(sql string, kws ...string) bool {
	toks, err := tokenize(sql)
	if err != nil || len(toks) < len(kws) {
		return false
	}
	for i, k := range kws {
		if !isKwTok(toks[i], k) {
			return false
		}
	}
	return true
}

// timeTravelSpec turns a time-travel clause into a ScanSpec and, unless the
// clause says WITH CURRENT SCHEMA, switches the relation to the schema the
// snapshot was written with, so the snapshot shows the columns it had.
func (e *Engine) timeTravelSpec(ctx context.Context, tt *timeTravel, r *relation, now time.Time) (ScanSpec, error) {
	spec, err := e.asOfSpec(tt, r, now)
	if err != nil {
		return spec, err
	}
	if r.system != "" {
		if tt.currentSchema {
			return ScanSpec{}, errf(types.ErrInvalid, "WITH CURRENT SCHEMA does not apply to system table %s", r)
		}
		return spec, nil
	}
	if tt.currentSchema {
		return spec, nil
	}
	sv, ok := r.t.(SchemaVersions)
	if !ok {
		return spec, nil
	}
	id, s, err := sv.SnapshotSchema(ctx, spec)
	if err != nil {
		return ScanSpec{}, r.scanErr(spec, err)
	}
	if err := r.setSchema(s); err != nil {
		return ScanSpec{}, err
	}
	if spec.Tag != "" {
		// A tag's snapshot may belong to another branch (or have expired):
		// read it through the tag, not by id.
		return ScanSpec{Tag: spec.Tag, SnapshotSchema: true}, nil
	}
	return ScanSpec{SnapshotID: id, SnapshotSchema: true}, nil
}

// schemasColumns returns the columns of t$schemas.
func schemasColumns() []Column {
	return []Column{
		{"schema_id", types.TBigInt},
		{"fields", types.TString},
		{"primary_keys", types.TString},
		{"partition_keys", types.TString},
		{"options", types.TString},
		{"comment", types.TString},
		{"change", types.TString},
		{"update_time", types.TTimestamp},
	}
}

func (r *relation) schemaRows(ctx context.Context) ([]types.Row, error) {
	sv, ok := r.t.(SchemaVersions)
	if !ok {
		return nil, errf(types.ErrInvalid, "table %s.%s does not keep schema versions", r.db, r.table)
	}
	all, err := sv.Schemas(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing schemas of %s.%s: %w", r.db, r.table, err)
	}
	rows := make([]types.Row, 0, len(all))
	for _, s := range all {
		var upd types.Value
		if s.TimeMillis != 0 {
			upd = types.Timestamp(s.TimeMillis * 1000)
		}
		rows = append(rows, types.Row{s.ID, fieldsText(s), strings.Join(s.PrimaryKeys, ", "),
			strings.Join(s.PartitionKeys, ", "), optionsText(s.Options), s.Comment, s.Change, upd})
	}
	return rows, nil
}

// fieldsText renders a schema's fields as "id:name TYPE [NOT NULL]
// [DEFAULT 'x'] [COMMENT 'c']", comma-separated.
func fieldsText(s *types.Schema) string {
	parts := make([]string, len(s.Fields))
	for i, f := range s.Fields {
		p := strconv.Itoa(f.ID) + ":" + f.Name + " " + f.Type.String() + ifStr(f.NotNull, " NOT NULL")
		if f.Default != nil {
			p += " DEFAULT " + quoteString(*f.Default)
		}
		if f.Comment != "" {
			p += " COMMENT " + quoteString(f.Comment)
		}
		parts[i] = p
	}
	return strings.Join(parts, ", ")
}

func optionsText(opts map[string]string) string {
	keys := make([]string, 0, len(opts))
	for k := range opts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + opts[k]
	}
	return strings.Join(parts, ", ")
}

// defaultRow returns a row of the relation's width with each column at
// its default (NULL when it has none): what INSERT writes for columns it
// does not list.
func (r *relation) defaultRow() (types.Row, error) {
	row := make(types.Row, len(r.cols))
	if r.schema == nil {
		return row, nil
	}
	for i := range r.schema.Fields {
		v, err := r.schema.Fields[i].DefaultValue()
		if err != nil {
			return nil, errf(types.ErrCorruption, "table %s: %s", r, errText(err))
		}
		row[i] = v
	}
	return row, nil
}

// cloneRow copies a row, including BYTES values.
func cloneRow(in types.Row) types.Row {
	out := make(types.Row, len(in))
	for i, v := range in {
		if b, ok := v.([]byte); ok {
			v = append([]byte{}, b...)
		}
		out[i] = v
	}
	return out
}
