package query

import (
	"context"
	"iter"
	"slices"
	"strings"
	"time"

	"github.com/siltdb/silt/types"
)

// The relational layer: a FROM item that is not one table (a join, a
// derived table, VALUES, a common table expression) is planned as a
// fromSource, which yields rows with the columns of its scope. A SELECT
// over a fromSource runs the same WHERE, aggregate, sort, limit and output
// stages as over a table, on the row engine; a SELECT over one table keeps
// its vectorized scan with pushdown and pruning.

// fromSource is a planned FROM item: its scope and a way to read its rows.
type fromSource struct {
	sc   *scope
	open func(ctx context.Context) (int64, iter.Seq2[types.Row, error], error)
	// push, when set, takes conditions and the columns the query reads
	// (join_push.go), over a row holding this source's at offset off.
	push func(conds []bexpr, used []int, off int)
	// explain describes the source as an operator tree (explain_tree.go).
	explain func(ctx context.Context) (*planNode, error)
	// batch, when set, reads the source as Arrow batches (vec_join.go).
	batch *batchSource
}

// colExt says how a column of a scope of several relations is referred
// to: quals are the names it may be qualified with; bareOnly: only
// unqualified references see it (the merged column of JOIN … USING);
// hidden: they do not (the sides' copies of that column).
type colExt struct {
	quals            []string
	bareOnly, hidden bool
}

// extOf returns column i's qualification.
func (s *scope) extOf(i int) colExt {
	if s.ext == nil {
		return colExt{quals: s.quals}
	}
	return s.ext[i]
}

// scopeColRef refers to a scope column by position: what * expands to
// where a column's name alone could be ambiguous.
type scopeColRef struct {
	pos  position
	idx  int
	name string
}

func (e *scopeColRef) exprPos() position { return e.pos }
func (e *scopeColRef) String() string    { return quoteIdent(e.name) }

// find returns the column that [qual.]name refers to, -1 if none, or an
// error when several match.
func (s *scope) find(qual, name string) (int, error) {
	found := -1
	for i, c := range s.cols {
		if !strings.EqualFold(c.name, name) {
			continue
		}
		x := s.extOf(i)
		if qual == "" {
			if x.hidden {
				continue
			}
		} else if x.bareOnly || !slices.Contains(x.quals, qual) {
			continue
		}
		if found >= 0 {
			ref := name
			if qual != "" {
				ref = qual + "." + name
			}
			return -1, errf(types.ErrInvalid, "column reference %q is ambiguous %s; qualify it with a table name or alias", ref, s.where)
		}
		found = i
	}
	return found, nil
}

// starItems expands * (qual == "") or qual.* over s.
func (s *scope) starItems(pos position, qual string) []outItem {
	var out []outItem
	multi := s.star != nil
	add := func(i int) {
		c := s.cols[i]
		var e expr = &columnRef{pos: pos, name: c.name}
		if multi {
			e = &scopeColRef{pos: pos, idx: i, name: c.name}
		}
		out = append(out, outItem{e: e, name: c.name})
	}
	if qual == "" {
		if s.star == nil {
			for i := range s.cols {
				add(i)
			}
			return out
		}
		for _, i := range s.star {
			add(i)
		}
		return out
	}
	for i := range s.cols {
		if x := s.extOf(i); s.ext == nil || (!x.bareOnly && slices.Contains(x.quals, qual)) {
			add(i)
		}
	}
	return out
}

// composite reports whether a FROM item needs the relational layer.
func (r *tableRef) composite() bool { return r.join != nil || r.query != nil || r.unnest != nil }

// planFrom plans a FROM item as a source.
func (e *Engine) planFrom(ctx context.Context, r *tableRef, now time.Time) (*fromSource, error) {
	switch {
	case r.unnest != nil: // unnest.go
		return e.planUnnest(ctx, r, now)
	case r.join != nil && r.join.right.unnest != nil:
		return e.planUnnestJoin(ctx, r.join, now)
	case r.join != nil:
		return e.planJoin(ctx, r.join, now)
	case r.query != nil:
		return e.planDerived(ctx, r)
	}
	var rel *relation
	var err error
	if r.fn != nil {
		rel, err = e.resolveTableFunc(ctx, r.fn, now)
	} else {
		rel, err = e.resolveTable(ctx, r.name)
	}
	if err != nil {
		return nil, err
	}
	var spec ScanSpec
	if r.asOf != nil {
		if spec, err = e.timeTravelSpec(ctx, r.asOf, rel, now); err != nil {
			return nil, err
		}
	}
	sc := rel.scope(r.alias)
	if r.alias != "" { // an alias hides the table's own name
		sc.quals = []string{r.alias}
	}
	sc.star = make([]int, len(sc.cols))
	sc.ext = make([]colExt, len(sc.cols))
	for i := range sc.cols {
		sc.ext[i] = colExt{quals: sc.quals}
		sc.star[i] = i
	}
	ts := &tableSource{rel: rel, spec: spec, alias: r.alias, m: &nodeMeasure{}}
	return &fromSource{sc: sc, push: ts.push, explain: ts.explain, batch: e.tableBatches(ts), open: measureOpen(ts.m, func(ctx context.Context) (int64, iter.Seq2[types.Row, error], error) {
		snap, rows, err := e.scan(ctx, ts.rel, ts.spec)
		if err != nil || ts.filter == nil {
			return snap, rows, err
		}
		pad := make(types.Row, ts.off+len(ts.rel.cols))
		return snap, func(yield func(types.Row, error) bool) {
			for row, err := range rows {
				ok := false
				if err == nil {
					copy(pad[ts.off:], row)
					ok, err = passes(ts.filter, pad)
				}
				if err != nil {
					yield(nil, err)
					return
				}
				if ok && !yield(row, nil) {
					return
				}
			}
		}, nil
	})}, nil
}

// planDerived plans (query) [AS alias [(cols)]].
func (e *Engine) planDerived(ctx context.Context, r *tableRef) (*fromSource, error) {
	qp, err := e.planQuery(ctx, r.query)
	if err != nil {
		return nil, err
	}
	if len(r.colAliases) > len(qp.cols) {
		return nil, errf(types.ErrInvalid, "%s has %d columns but %d column names are given", derivedName(r.alias), len(qp.cols), len(r.colAliases))
	}
	quals := []string{}
	if r.alias != "" {
		quals = []string{r.alias}
	}
	sc := &scope{where: "in " + derivedName(r.alias), quals: quals, star: make([]int, len(qp.cols))}
	for i, c := range qp.cols {
		name := c.Name
		if i < len(r.colAliases) {
			name = r.colAliases[i]
		}
		sc.cols = append(sc.cols, scopeCol{name: name, t: c.Type})
		sc.ext = append(sc.ext, colExt{quals: quals})
		sc.star[i] = i
	}
	return &fromSource{sc: sc, open: qp.open, explain: qp.explain}, nil
}

func derivedName(alias string) string {
	if alias == "" {
		return "the subquery"
	}
	return "subquery " + quoteIdent(alias)
}

// rowsOf yields rows from a slice.
func rowsOf(rows []types.Row) iter.Seq2[types.Row, error] {
	return func(yield func(types.Row, error) bool) {
		for _, r := range rows {
			if !yield(r, nil) {
				return
			}
		}
	}
}
