package query

import (
	"context"
	"iter"
	"slices"
	"strconv"
	"strings"

	"github.com/siltdb/silt/types"
)

// Queries as relations: planQuery plans any query (SELECT, a set
// operation, VALUES, WITH) as columns and a way to read its rows, for
// derived tables and subqueries; execQuery runs one as a statement.
// Set operations combine their sides in the columns' common types, with
// the left side's column names. UNION, INTERSECT and EXCEPT return
// distinct rows (NULLs equal to each other); their ALL forms keep
// duplicates (INTERSECT ALL as many times as both sides have a row,
// EXCEPT ALL as many more times as the left has it).

// queryPlan is a planned query. A column's type is invalid when it holds
// only untyped NULLs.
type queryPlan struct {
	cols []Column
	open func(ctx context.Context) (int64, iter.Seq2[types.Row, error], error)
	// explain describes the plan as an operator tree (explain_tree.go).
	explain func(ctx context.Context) (*planNode, error)
}

func (e *Engine) planQuery(ctx context.Context, s statement) (*queryPlan, error) {
	switch x := s.(type) {
	case *selectStmt:
		p, err := e.planSelect(ctx, x)
		if err != nil {
			return nil, err
		}
		cols := slices.Clone(p.cols)
		for i, o := range p.outputs {
			if o.Type().Kind == types.KindInvalid {
				cols[i].Type = nullType
			}
		}
		// Under EXPLAIN ANALYZE the SELECT measures its operators and
		// its table scan, and collects (the streaming path counts none).
		st, scanM, out := &opStats{}, &scanMeasure{}, &nodeMeasure{}
		return &queryPlan{cols: cols, open: func(ctx context.Context) (int64, iter.Seq2[types.Row, error], error) {
			var res *Result
			var err error
			if run := measuring(ctx); run != nil {
				st.clock = run.clock
				p.stats = st
				if p.rel != nil && p.rel.system == "" {
					if _, done := p.rel.t.(measuredTable); !done {
						p.rel.t = measuredTable{Table: p.rel.t, m: scanM, now: run.clock}
					}
				}
				res, err = e.runSelect(ctx, p)
				p.stats = nil
				if err != nil {
					return 0, nil, err
				}
				return res.SnapshotID, measureRows(ctx, out, res.All()), nil
			}
			if p.streamable() {
				res, err = e.streamSelect(ctx, p)
			} else {
				res, err = e.runSelect(ctx, p)
			}
			if err != nil {
				return 0, nil, err
			}
			return res.SnapshotID, res.All(), nil
		}, explain: func(ctx context.Context) (*planNode, error) {
			return e.selectTree(ctx, p, st, scanM, out)
		}}, nil
	case *setOpStmt:
		if hasSetOrder(x) {
			return e.planQuery(ctx, setOpSelect(x))
		}
		return e.planSetOp(ctx, x)
	case *valuesStmt:
		return e.planValues(ctx, x)
	case *cteRef:
		return e.planCTE(ctx, x.def)
	case *withStmt:
		body, err := inlineCTEs(x)
		if err != nil {
			return nil, err
		}
		return e.planQuery(ctx, body)
	}
	return nil, errf(types.ErrInvalid, "internal: %T is not a query", s)
}

// execQuery runs a query as a statement; with stream a plain SELECT
// streams its rows.
func (e *Engine) execQuery(ctx context.Context, s statement, stream bool) (*Result, error) {
	switch x := s.(type) {
	case *selectStmt:
		return e.execSelect(ctx, x, stream)
	case *withStmt:
		body, err := inlineCTEs(x)
		if err != nil {
			return nil, err
		}
		return e.execQuery(ctx, body, stream)
	case *setOpStmt:
		if hasSetOrder(x) {
			return e.execSelect(ctx, setOpSelect(x), stream)
		}
	}
	res, err := e.collectQuery(ctx, s)
	if err != nil {
		return nil, err
	}
	res.Columns = outputColumns(res.Columns)
	return res, nil
}

// collectQuery plans and runs a query, collecting its rows; a column of
// untyped NULLs keeps the invalid type (so that a subquery's NULL adapts
// to where it is used).
func (e *Engine) collectQuery(ctx context.Context, s statement) (*Result, error) {
	qp, err := e.planQuery(ctx, s)
	if err != nil {
		return nil, err
	}
	return e.collectPlanned(ctx, qp)
}

// collectPlanned runs a planned query, collecting its rows.
func (e *Engine) collectPlanned(ctx context.Context, qp *queryPlan) (*Result, error) {
	snap, rows, err := qp.open(ctx)
	if err != nil {
		return nil, err
	}
	res := &Result{Columns: qp.cols, SnapshotID: snap, Rows: []types.Row{}}
	n := 0
	for row, err := range rows {
		if err != nil {
			return nil, err
		}
		if n++; n%checkEvery == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		res.Rows = append(res.Rows, row)
	}
	res.Message = "SELECT " + strconv.Itoa(len(res.Rows))
	return res, nil
}

// outputColumns gives untyped NULL columns the type STRING, as a SELECT
// does.
func outputColumns(cols []Column) []Column {
	out := slices.Clone(cols)
	for i := range out {
		if out[i].Type.Kind == types.KindInvalid {
			out[i].Type = types.TString
		}
	}
	return out
}

func hasSetOrder(s *setOpStmt) bool { return len(s.orderBy) > 0 || s.limit >= 0 || s.offset > 0 }

// setOpSelect reads a set operation with ORDER BY, LIMIT or OFFSET as
// SELECT * FROM (the operation) ORDER BY … LIMIT …, so that they apply to
// the whole result and name its columns.
func setOpSelect(s *setOpStmt) *selectStmt {
	inner := *s
	inner.orderBy, inner.limit, inner.offset = nil, -1, 0
	return &selectStmt{pos: s.pos, items: []selectItem{{pos: s.pos, star: true}},
		from:    &tableRef{name: tableName{pos: s.pos}, query: &inner},
		orderBy: s.orderBy, limit: s.limit, offset: s.offset}
}

func (e *Engine) planSetOp(ctx context.Context, s *setOpStmt) (*queryPlan, error) {
	lp, err := e.planQuery(ctx, s.l)
	if err != nil {
		return nil, err
	}
	rp, err := e.planQuery(ctx, s.r)
	if err != nil {
		return nil, err
	}
	if len(lp.cols) != len(rp.cols) {
		return nil, errf(types.ErrInvalid, "each side of %s must return the same number of columns, got %d and %d", s.op, len(lp.cols), len(rp.cols))
	}
	cols := make([]Column, len(lp.cols))
	for i, lc := range lp.cols {
		rc := rp.cols[i]
		t, ok := commonType(lc.Type, rc.Type)
		if !ok {
			return nil, errf(types.ErrInvalid, "%s cannot combine column %d: %s (%s) with %s (%s)", s.op, i+1, lc.Name, typeName(lc.Type), rc.Name, typeName(rc.Type))
		}
		cols[i] = Column{Name: lc.Name, Type: t}
	}
	conv := func(row types.Row, from []Column) (types.Row, error) {
		out := make(types.Row, len(row))
		for i, v := range row {
			if v != nil && !from[i].Type.Equal(cols[i].Type) {
				c, err := castValue(v, from[i].Type, cols[i].Type, false)
				if err != nil {
					return nil, err
				}
				v = c
			}
			out[i] = v
		}
		return out, nil
	}
	open := func(ctx context.Context) (int64, iter.Seq2[types.Row, error], error) {
		snap, lrows, err := lp.open(ctx)
		if err != nil {
			return 0, nil, err
		}
		_, rrows, err := rp.open(ctx)
		if err != nil {
			return 0, nil, err
		}
		return snap, func(yield func(types.Row, error) bool) {
			n := 0
			read := func(rows iter.Seq2[types.Row, error], from []Column, f func(types.Row, string) bool) error {
				var key []byte
				for row, err := range rows {
					if err != nil {
						return err
					}
					if n++; n%checkEvery == 0 {
						if err := ctx.Err(); err != nil {
							return err
						}
					}
					if row, err = conv(row, from); err != nil {
						return err
					}
					key = key[:0]
					if !(s.op == "UNION" && s.all) {
						for _, v := range row {
							key = appendValueKey(key, v)
						}
					}
					if !f(row, string(key)) {
						return stopRead{}
					}
				}
				return nil
			}
			fail := func(err error) {
				if _, stopped := err.(stopRead); err != nil && !stopped {
					yield(nil, err)
				}
			}
			seen := map[string]int{}
			if s.op == "UNION" {
				emit := func(row types.Row, k string) bool {
					if !s.all {
						if _, dup := seen[k]; dup {
							return true
						}
						seen[k] = 1
					}
					return yield(row, nil)
				}
				if err := read(lrows, lp.cols, emit); err != nil {
					fail(err)
					return
				}
				fail(read(rrows, rp.cols, emit))
				return
			}
			// INTERSECT and EXCEPT: count the right side's rows, then
			// stream the left side against the counts.
			if err := read(rrows, rp.cols, func(_ types.Row, k string) bool { seen[k]++; return true }); err != nil {
				fail(err)
				return
			}
			done := map[string]bool{}
			fail(read(lrows, lp.cols, func(row types.Row, k string) bool {
				c := seen[k]
				keep := false
				switch {
				case s.op == "INTERSECT" && s.all:
					keep = c > 0
					seen[k] = c - 1
				case s.op == "INTERSECT":
					keep = c > 0 && !done[k]
				case s.all: // EXCEPT ALL
					keep = c <= 0
					seen[k] = c - 1
				default: // EXCEPT
					keep = c == 0 && !done[k]
				}
				if !keep {
					return true
				}
				done[k] = true
				return yield(row, nil)
			}))
		}, nil
	}
	m := &nodeMeasure{}
	name := s.op + ifStr(s.all, " ALL")
	return &queryPlan{cols: cols, open: measureOpen(m, open), explain: func(ctx context.Context) (*planNode, error) {
		l, err := lp.explain(ctx)
		if err != nil {
			return nil, err
		}
		r, err := rp.explain(ctx)
		if err != nil {
			return nil, err
		}
		detail := "hash of whole rows"
		if s.op == "UNION" && s.all {
			detail = "concatenation"
		} else if s.op != "UNION" {
			detail += ", right side counted first"
		}
		return &planNode{name: strings.ReplaceAll(name, " ", "_"), detail: detail, m: m, kids: []*planNode{l, r}}, nil
	}}, nil
}

// stopRead ends a read early because the consumer stopped.
type stopRead struct{}

func (stopRead) Error() string { return "stopped reading" }

// planValues plans VALUES (…), …: each column in the common type of its
// values, named col0, col1, … as in DuckDB.
func (e *Engine) planValues(ctx context.Context, s *valuesStmt) (*queryPlan, error) {
	var all []expr
	for _, row := range s.rows {
		all = append(all, row...)
	}
	if err := e.resolveSubqueries(ctx, nil, all...); err != nil {
		return nil, err
	}
	b := &binder{ctx: ctx, sc: &scope{where: "(VALUES cannot refer to columns)"}, now: e.now(), rand: e.rand, clause: "VALUES"}
	bound := make([][]bexpr, len(s.rows))
	for i, row := range s.rows {
		for _, x := range row {
			v, err := b.bind(x)
			if err != nil {
				return nil, err
			}
			bound[i] = append(bound[i], v)
		}
	}
	ncol := len(s.rows[0])
	cols := make([]Column, ncol)
	for j := range ncol {
		vs, es := make([]bexpr, len(bound)), make([]expr, len(bound))
		for i := range bound {
			vs[i], es[i] = bound[i][j], s.rows[i][j]
		}
		t, err := unify(vs, es, "VALUES column "+strconv.Itoa(j+1))
		if err != nil {
			return nil, err
		}
		for i := range bound {
			bound[i][j] = vs[i]
		}
		cols[j] = Column{Name: "col" + strconv.Itoa(j), Type: t}
	}
	m := &nodeMeasure{}
	return &queryPlan{cols: cols, explain: func(context.Context) (*planNode, error) {
		return &planNode{name: "VALUES", detail: strconv.Itoa(len(bound)) + " rows", m: m}, nil
	}, open: measureOpen(m, func(ctx context.Context) (int64, iter.Seq2[types.Row, error], error) {
		rows := make([]types.Row, len(bound))
		for i, bs := range bound {
			if i%checkEvery == checkEvery-1 {
				if err := ctx.Err(); err != nil {
					return 0, nil, err
				}
			}
			rows[i] = make(types.Row, len(bs))
			for j, v := range bs {
				val, err := v.Eval(nil)
				if err != nil {
					return 0, nil, err
				}
				rows[i][j] = val
			}
		}
		return 0, rowsOf(rows), nil
	})}, nil
}
