package query

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/siltdb/silt/types"
)

// Databases and tables: CREATE, DROP, SHOW, USE and DESCRIBE.

func (e *Engine) createDatabase(ctx context.Context, s *createDatabaseStmt) (*Result, error) {
	if err := types.ValidateIdentifier("database", s.name); err != nil {
		return nil, err
	}
	if err := e.cat.CreateDatabase(ctx, s.name, s.ifNotExists); err != nil {
		return nil, err
	}
	return &Result{Message: "CREATE DATABASE"}, nil
}

func (e *Engine) dropDatabase(ctx context.Context, s *dropDatabaseStmt) (*Result, error) {
	if err := e.cat.DropDatabase(ctx, s.name, s.ifExists, s.cascade); err != nil {
		return nil, err
	}
	return &Result{Message: "DROP DATABASE"}, nil
}

func (e *Engine) showDatabases(ctx context.Context) (*Result, error) {
	dbs, err := e.cat.ListDatabases(ctx)
	if err != nil {
		return nil, err
	}
	return nameList("database", dbs), nil
}

func nameList(col string, names []string) *Result {
	names = slices.Clone(names)
	slices.Sort(names)
	r := &Result{Columns: []Column{{col, types.TString}}, Rows: make([]types.Row, 0, len(names))}
	for _, n := range names {
		r.Rows = append(r.Rows, types.Row{n})
	}
	r.Message = "SHOW " + strconv.Itoa(len(names))
	return r
}

func (e *Engine) use(ctx context.Context, s *useStmt) (*Result, error) {
	dbs, err := e.cat.ListDatabases(ctx)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(dbs, s.name) {
		return nil, errf(types.ErrNotFound, "unknown database %s", s.name)
	}
	e.setCurrentDB(s.name)
	return &Result{Message: "USE " + s.name}, nil
}

func (e *Engine) showTables(ctx context.Context, s *showTablesStmt) (*Result, error) {
	db := s.db
	if db == "" {
		db = e.CurrentDB()
	}
	ts, err := e.cat.ListTables(ctx, db)
	if err != nil {
		if errors.Is(err, types.ErrNotFound) {
			return nil, errf(types.ErrNotFound, "unknown database %s", db)
		}
		return nil, err
	}
	return nameList("table", ts), nil
}

func (e *Engine) describe(ctx context.Context, s *describeStmt) (*Result, error) {
	r, err := e.resolveTable(ctx, s.table)
	if err != nil {
		return nil, err
	}
	res := &Result{Columns: []Column{
		{"name", types.TString}, {"type", types.TString}, {"nullable", types.TBoolean},
		{"primary_key", types.TBoolean}, {"partition_key", types.TBoolean}, {"comment", types.TString},
		{"default", types.TString},
	}}
	if r.schema == nil {
		for _, c := range r.cols {
			res.Rows = append(res.Rows, types.Row{c.Name, c.Type.String(), false, false, false, "", nil})
		}
	} else {
		for _, f := range r.schema.Fields {
			var def types.Value
			if f.Default != nil {
				def = *f.Default
			}
			res.Rows = append(res.Rows, types.Row{f.Name, f.Type.String(), !f.NotNull,
				containsFold(r.schema.PrimaryKeys, f.Name), containsFold(r.schema.PartitionKeys, f.Name), f.Comment, def})
		}
	}
	res.Message = "DESCRIBE " + strconv.Itoa(len(res.Rows))
	return res, nil
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

func (e *Engine) createTable(ctx context.Context, s *createTableStmt) (*Result, error) {
	db, name := e.qualify(s.table)
	if strings.Contains(name, "$") {
		return nil, errf(types.ErrInvalid, "table name %q: '$' is reserved for system tables", name)
	}
	if err := types.ValidateIdentifier("database", db); err != nil {
		return nil, err
	}
	if err := types.ValidateIdentifier("table", name); err != nil {
		return nil, err
	}
	sch := &types.Schema{Comment: s.comment}
	var inlinePK []string
	for i, c := range s.columns {
		if sch.FieldIndex(c.name) >= 0 {
			return nil, errf(types.ErrInvalid, "duplicate column %q", c.name)
		}
		def, err := defaultText(c)
		if err != nil {
			return nil, err
		}
		sch.Fields = append(sch.Fields, types.Field{ID: i, Name: c.name, Type: c.typ, NotNull: c.notNull, Comment: c.comment, Default: def})
		if c.primaryKey {
			inlinePK = append(inlinePK, c.name)
		}
	}
	sch.HighestFieldID = len(sch.Fields) - 1
	for i := range sch.Fields { // the catalog assigns the final ids the same way
		f := &sch.Fields[i]
		f.Type = types.CloneType(f.Type)
		types.AssignNestedIDs(&f.Type, func() int { sch.HighestFieldID++; return sch.HighestFieldID })
	}
	switch {
	case len(inlinePK) > 1:
		return nil, errf(types.ErrInvalid, "PRIMARY KEY is declared on columns %q and %q; use PRIMARY KEY (%s, %s) for a composite key",
			inlinePK[0], inlinePK[1], inlinePK[0], inlinePK[1])
	case len(inlinePK) == 1 && s.primaryKey != nil:
		return nil, errf(types.ErrInvalid, "PRIMARY KEY is declared twice (on column %q and as PRIMARY KEY (…))", inlinePK[0])
	case len(inlinePK) == 1:
		sch.PrimaryKeys = inlinePK
	default:
		for _, k := range s.primaryKey {
			i := sch.FieldIndex(k)
			if i < 0 {
				return nil, errf(types.ErrInvalid, "PRIMARY KEY column %q is not a column of the table", k)
			}
			sch.PrimaryKeys = append(sch.PrimaryKeys, sch.Fields[i].Name)
		}
	}
	for _, k := range sch.PrimaryKeys {
		sch.Fields[sch.FieldIndex(k)].NotNull = true
	}
	for _, k := range s.partitionBy {
		i := sch.FieldIndex(k)
		if i < 0 {
			return nil, errf(types.ErrInvalid, "PARTITIONED BY column %q is not a column of the table", k)
		}
		sch.PartitionKeys = append(sch.PartitionKeys, sch.Fields[i].Name)
	}
	if len(s.options) > 0 {
		sch.Options = map[string]string{}
		for _, o := range s.options {
			if _, dup := sch.Options[o.key]; dup {
				return nil, errf(types.ErrInvalid, "option %q given twice", o.key)
			}
			sch.Options[o.key] = o.value
		}
	}
	if err := sch.Validate(); err != nil {
		return nil, err
	}
	if err := e.cat.CreateTable(ctx, db, name, sch, s.ifNotExists); err != nil {
		return nil, err
	}
	return &Result{Message: "CREATE TABLE"}, nil
}

func (e *Engine) alterTable(ctx context.Context, s *alterTableStmt) (*Result, error) {
	res, _, err := e.execAlter(ctx, s, false)
	return res, err
}

func (e *Engine) dropTable(ctx context.Context, s *dropTableStmt) (*Result, error) {
	db, name := e.qualify(s.table)
	if base, branch, sys, err := splitTableName(name); err == nil && branch != "" && sys == "" {
		return nil, errf(types.ErrInvalid, "DROP TABLE cannot drop branch %s; use ALTER TABLE %s.%s DROP BRANCH %s", branch, db, base, refNameString(branch))
	}
	if strings.Contains(name, "$") {
		return nil, errf(types.ErrInvalid, "cannot drop system table %s.%s", db, name)
	}
	var warning string
	var err error
	if dw, ok := e.cat.(dropWarner); ok {
		warning, err = dw.DropTableWarn(ctx, db, name, s.ifExists)
	} else {
		err = e.cat.DropTable(ctx, db, name, s.ifExists)
	}
	if err != nil {
		if errors.Is(err, types.ErrNotFound) && !s.ifExists {
			return nil, errf(types.ErrNotFound, "unknown table %s.%s%s", db, name, e.tableHint(ctx, db, name))
		}
		return nil, err
	}
	if warning != "" {
		return &Result{Message: "DROP TABLE (warning: " + warning + ")"}, nil
	}
	return &Result{Message: "DROP TABLE"}, nil
}

// dropWarner is implemented by catalogs whose DROP TABLE can leave copies
// of the table's files behind (in a cold tier it could not open); the
// warning says so and is shown with the result.
type dropWarner interface {
	DropTableWarn(ctx context.Context, db, table string, ifExists bool) (warning string, err error)
}
