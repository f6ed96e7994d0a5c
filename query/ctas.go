package query

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/siltdb/silt/types"
)

// CREATE TABLE t [PARTITIONED BY (…)] [COMMENT 'c'] WITH ('primary-key' =
// 'a,b', …) AS query: a table whose columns (names and types) are the
// query's, filled with its rows in one commit. The primary key is the
// 'primary-key' option, as in Paimon's CREATE TABLE AS (Flink and Spark);
// the partition keys are PARTITIONED BY or the 'partition' option.

// ctasStmt is CREATE TABLE … AS query.
type ctasStmt struct {
	create *createTableStmt // no columns; options still hold 'primary-key'
	query  statement
}

func (s *ctasStmt) stmtPos() position { return s.create.pos }
func (s *ctasStmt) String() string {
	c := s.create
	out := "CREATE TABLE " + ifStr(c.ifNotExists, "IF NOT EXISTS ") + c.table.String()
	if len(c.partitionBy) > 0 {
		out += " PARTITIONED BY (" + identList(c.partitionBy) + ")"
	}
	if c.hasComment {
		out += " COMMENT " + quoteString(c.comment)
	}
	if len(c.options) > 0 {
		out += " WITH " + optionList(c.options)
	}
	return out + " AS " + s.query.String()
}

// parseCTAS reads the rest of CREATE TABLE [IF NOT EXISTS] t when no
// column list follows the name: its clauses, AS and the query.
func (p *parser) parseCTAS(s *createTableStmt) (statement, error) {
	var err error
	for {
		switch {
		case p.acceptKw("PARTITIONED", "BY"):
			ids, err := p.identList("column name")
			if err != nil {
				return nil, err
			}
			s.partitionBy = names(ids)
			continue
		case p.acceptKw("COMMENT"):
			if s.comment, err = p.stringLit("a comment string"); err != nil {
				return nil, err
			}
			s.hasComment = true
			continue
		case p.acceptKw("WITH"):
			if s.options, err = p.tableOptions(); err != nil {
				return nil, err
			}
			continue
		}
		break
	}
	if !p.isKw("AS") {
		return nil, syntaxErr(p.peek(), "expected ( and the column definitions, or AS and a query")
	}
	p.next()
	q := p.peek()
	if !isKwTok(q, "SELECT") && !isKwTok(q, "VALUES") && !isKwTok(q, "WITH") && !(q.kind == tOp && q.text == "(") {
		return nil, syntaxErr(q, "CREATE TABLE … AS takes a query (SELECT …)")
	}
	query, err := p.parseQuery()
	if err != nil {
		return nil, err
	}
	return &ctasStmt{create: s, query: query}, nil
}

func (e *Engine) createTableAs(ctx context.Context, s *ctasStmt) (*Result, error) {
	db, name := e.qualify(s.create.table)
	if s.create.ifNotExists {
		if _, err := e.cat.LoadTable(ctx, db, name); err == nil {
			return &Result{Message: "CREATE TABLE"}, nil
		} else if !errors.Is(err, types.ErrNotFound) {
			return nil, err
		}
	}
	src, err := e.run(ctx, s.query, false)
	if err != nil {
		return nil, err
	}
	st := *s.create
	st.options = nil
	for _, o := range s.create.options {
		switch strings.ToLower(o.key) {
		case "primary-key":
			st.primaryKey = splitKeys(o.value)
		case "partition":
			if len(st.partitionBy) > 0 {
				return nil, errf(types.ErrInvalid, "the partition keys are given twice (PARTITIONED BY and the 'partition' option)")
			}
			st.partitionBy = splitKeys(o.value)
		default:
			st.options = append(st.options, o)
		}
	}
	if len(st.primaryKey) == 0 {
		return nil, errf(types.ErrInvalid, "CREATE TABLE … AS needs a primary key: add WITH ('primary-key' = 'col1,col2')")
	}
	for i, c := range src.Columns {
		if c.Type.Validate() != nil {
			return nil, errf(types.ErrInvalid, "column %d (%s) of the query has no storable type (%s); CAST it", i+1, c.Name, c.Type)
		}
		st.columns = append(st.columns, columnDef{name: c.Name, typ: c.Type})
	}
	if _, err := e.createTable(ctx, &st); err != nil {
		return nil, err
	}
	r, err := e.writableTable(ctx, st.table)
	if err == nil {
		changes := make([]Change, len(src.Rows))
		for i, row := range src.Rows {
			if err = checkCTASRow(r.schema, row); err != nil {
				break
			}
			changes[i] = Change{Kind: types.Insert, Row: row}
		}
		var res *Result
		if err == nil {
			if res, err = e.apply(ctx, r, changes, "CREATE TABLE AS"); err == nil {
				return res, nil
			}
		}
	}
	// The table holds no rows yet: drop it so a corrected statement can run.
	if dropErr := e.cat.DropTable(context.WithoutCancel(ctx), db, name, true); dropErr != nil {
		return nil, fmt.Errorf("%w (and dropping the new table %s.%s failed: %v; drop it by hand)", err, db, name, dropErr)
	}
	return nil, err
}

// checkCTASRow rejects a NULL in a primary-key (NOT NULL) column with a
// message naming the row.
func checkCTASRow(s *types.Schema, row types.Row) error {
	for i, f := range s.Fields {
		if f.NotNull && i < len(row) && row[i] == nil {
			return errf(types.ErrInvalid, "primary-key column %q is NULL in a row of the query; filter it out (WHERE %s IS NOT NULL)", f.Name, quoteIdent(f.Name))
		}
	}
	return nil
}

// splitKeys splits a comma-separated list of column names.
func splitKeys(v string) []string {
	var out []string
	for _, k := range strings.Split(v, ",") {
		if k = strings.TrimSpace(k); k != "" {
			out = append(out, k)
		}
	}
	return out
}
