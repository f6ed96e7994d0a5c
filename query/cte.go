package query

import (
	"context"
	"fmt"
	"iter"

	"github.com/siltdb/silt/types"
)

// Common table expressions (WITH, non-recursive) are inlined: each table
// reference that names a CTE in scope becomes a derived table over a
// cteRef. A CTE referenced once streams like a derived table; one
// referenced several times is planned and run once, its rows held for
// every reference (so nested CTEs that each use the previous one twice
// cost linear, not exponential, work). A CTE sees the ones defined before
// it in its WITH and those of the enclosing queries; an inner WITH
// shadows an outer one of the same name.

// cteRef is a reference to a CTE, in place of a derived table's query.
type cteRef struct{ def *cteDef }

func (s *cteRef) stmtPos() position { return s.def.pos }
func (s *cteRef) String() string    { return s.def.query.String() }

// planCTE plans a reference to a CTE.
func (e *Engine) planCTE(ctx context.Context, d *cteDef) (*queryPlan, error) {
	if d.refs <= 1 {
		qp, err := e.planQuery(ctx, d.query)
		if err != nil {
			return nil, err
		}
		inner := qp.explain
		return &queryPlan{cols: qp.cols, open: qp.open, explain: func(ctx context.Context) (*planNode, error) {
			n, err := inner(ctx)
			if err != nil {
				return nil, err
			}
			return &planNode{name: "CTE " + quoteIdent(d.name), detail: "streamed (referenced once)", kids: []*planNode{n}, stats: func() string { return "" }}, nil
		}}, nil
	}
	if d.plan != nil {
		return d.plan, nil
	}
	qp, err := e.planQuery(ctx, d.query)
	if err != nil {
		return nil, err
	}
	// A shared CTE is shown (and measured) once: its other references
	// name it.
	m, shown := &nodeMeasure{}, false
	d.plan = &queryPlan{cols: qp.cols, explain: func(ctx context.Context) (*planNode, error) {
		name := "CTE " + quoteIdent(d.name)
		if shown {
			return &planNode{name: name, detail: "shared, shown above", stats: func() string { return "shared, measured above" }}, nil
		}
		shown = true
		n, err := qp.explain(ctx)
		if err != nil {
			return nil, err
		}
		return &planNode{name: name, detail: fmt.Sprintf("shared by %d references, run once and held in memory", d.refs), m: m, kids: []*planNode{n}}, nil
	}, open: func(ctx context.Context) (int64, iter.Seq2[types.Row, error], error) {
		if !d.read {
			snap, rows, err := qp.open(ctx)
			if err != nil {
				return 0, nil, err
			}
			var all []types.Row
			n := 0
			for row, err := range measureRows(ctx, m, rows) {
				if err != nil {
					return 0, nil, err
				}
				if n++; n%checkEvery == 0 {
					if err := ctx.Err(); err != nil {
						return 0, nil, err
					}
				}
				all = append(all, row)
			}
			d.rows, d.snap, d.read = all, snap, true
		}
		return d.snap, rowsOf(d.rows), nil
	}}
	return d.plan, nil
}

type cteEnv struct {
	parent *cteEnv
	defs   map[string]*cteDef
}

func (c *cteEnv) lookup(name string) *cteDef {
	for ; c != nil; c = c.parent {
		if d, ok := c.defs[name]; ok {
			return d
		}
	}
	return nil
}

// inlineCTEs replaces the references to w's CTEs (and to those of the
// WITHs nested in it) and returns w's body.
func inlineCTEs(w *withStmt) (statement, error) {
	c := &cteEnv{}
	if err := c.with(w); err != nil {
		return nil, err
	}
	return w.body, nil
}

func (c *cteEnv) with(w *withStmt) error {
	inner := &cteEnv{parent: c, defs: map[string]*cteDef{}}
	for i := range w.ctes {
		d := &w.ctes[i]
		if err := inner.query(d.query); err != nil {
			return err
		}
		inner.defs[d.name] = d
	}
	return inner.query(w.body)
}

func (c *cteEnv) query(s statement) error {
	switch x := s.(type) {
	case *selectStmt:
		if x.from != nil {
			if err := c.from(x.from); err != nil {
				return err
			}
		}
		return c.exprs(selectExprs(x)...)
	case *setOpStmt:
		if err := c.query(x.l); err != nil {
			return err
		}
		if err := c.query(x.r); err != nil {
			return err
		}
		var es []expr
		for _, o := range x.orderBy {
			es = append(es, o.expr)
		}
		return c.exprs(es...)
	case *valuesStmt:
		for _, row := range x.rows {
			if err := c.exprs(row...); err != nil {
				return err
			}
		}
	case *withStmt:
		return c.with(x)
	}
	return nil
}

func (c *cteEnv) from(r *tableRef) error {
	switch {
	case r.join != nil:
		if err := c.from(r.join.left); err != nil {
			return err
		}
		if err := c.from(r.join.right); err != nil {
			return err
		}
		return c.exprs(r.join.on)
	case r.query != nil:
		return c.query(r.query)
	case r.unnest != nil:
		return c.exprs(r.unnest.args...)
	case r.fn != nil || r.name.db != "":
		return nil
	}
	d := c.lookup(r.name.table)
	if d == nil {
		return nil
	}
	if r.asOf != nil {
		return errf(types.ErrInvalid, "time travel applies to tables, not to the common table expression %s", quoteIdent(d.name))
	}
	d.refs++
	r.query, r.colAliases = &cteRef{def: d}, d.cols
	if r.alias == "" {
		r.alias = d.name
	}
	return nil
}

// exprs inlines into the subqueries of es.
func (c *cteEnv) exprs(es ...expr) error {
	var err error
	for _, x := range es {
		walk(x, func(n expr) bool {
			if s, ok := n.(*subqueryExpr); ok && err == nil {
				err = c.query(s.query)
			}
			return err == nil
		})
	}
	return err
}
