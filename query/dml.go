package query

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/siltdb/silt/types"
)

// INSERT, UPDATE and DELETE. Each statement computes all its changes
// first, checks every row against the schema, and then commits them with
// one Table.Apply, so a failing statement commits nothing.

func (e *Engine) writableTable(ctx context.Context, n tableName) (*relation, error) {
	r, err := e.resolveTable(ctx, n)
	if err != nil {
		return nil, err
	}
	return r, r.writable()
}

// assign converts the value val of bound expression v for column f: a
// literal by the flexible literal rules, anything else losslessly.
func assign(v bexpr, val types.Value, f types.Field) (types.Value, error) {
	var out types.Value
	var err error
	if c, ok := isLit(v); ok {
		out, err = coerceLiteral(c.lit, f.Type)
	} else {
		out, err = castValue(val, v.Type(), f.Type, false)
	}
	if err != nil {
		return nil, errf(types.ErrInvalid, "column %q: %s", f.Name, errText(err))
	}
	return out, nil
}

func (e *Engine) apply(ctx context.Context, r *relation, changes []Change, verb string) (*Result, error) {
	res := &Result{Message: verb + " " + strconv.Itoa(len(changes))}
	if len(changes) == 0 {
		return res, nil
	}
	// The last point to stop a canceled statement before it writes: once
	// the commit starts it lands whole or not at all.
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	id, err := r.t.Apply(ctx, changes)
	if err != nil {
		return nil, fmt.Errorf("committing to %s: %w", r, err)
	}
	res.SnapshotID = id
	return res, nil
}

func (e *Engine) execInsert(ctx context.Context, s *insertStmt) (*Result, error) {
	r, err := e.writableTable(ctx, s.table)
	if err != nil {
		return nil, err
	}
	defaults, err := r.defaultRow()
	if err != nil {
		return nil, err
	}
	static, err := e.staticPartition(ctx, r, s, defaults)
	if err != nil {
		return nil, err
	}
	fields := r.schema.Fields
	// target[i] is the schema position of the i-th inserted value.
	var target []int
	if s.columns == nil {
		for i := range fields {
			if _, ok := static[i]; !ok {
				target = append(target, i)
			}
		}
	} else {
		for _, c := range s.columns {
			i := r.schema.FieldIndex(c.name)
			if i < 0 {
				return nil, errf(types.ErrInvalid, "unknown column %q in table %s%s", c.name, r, fieldHint(c.name, r.schema))
			}
			if slices.Contains(target, i) {
				return nil, errf(types.ErrInvalid, "column %q is listed twice", c.name)
			}
			if _, ok := static[i]; ok {
				return nil, errf(types.ErrInvalid, "column %q has its value in the PARTITION clause; leave it out of the column list", c.name)
			}
			target = append(target, i)
		}
	}
	changes, err := e.insertChanges(ctx, r, s, target, defaults)
	if err != nil {
		return nil, err
	}
	if s.overwrite {
		return e.applyOverwrite(ctx, r, changes, static)
	}
	return e.apply(ctx, r, changes, "INSERT")
}

// insertChanges computes the rows of an INSERT: its VALUES or the result
// of its query, placed at the target positions of the default row and
// checked against the schema.
func (e *Engine) insertChanges(ctx context.Context, r *relation, s *insertStmt, target []int, defaults types.Row) ([]Change, error) {
	fields := r.schema.Fields
	check := func(row types.Row) error {
		for _, k := range r.schema.KeyIndexes() {
			if k >= 0 && row[k] == nil {
				return errf(types.ErrInvalid, "missing value for primary key column %q", fields[k].Name)
			}
		}
		return r.schema.CheckRow(row)
	}
	rowErr := func(n, total int, err error) error {
		if total > 1 && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
			return errf(types.ErrInvalid, "row %d: %s", n, errText(err))
		}
		return err
	}
	var changes []Change
	if s.query != nil {
		p, err := e.planSelect(ctx, s.query)
		if err != nil {
			return nil, err
		}
		if len(p.cols) != len(target) {
			return nil, errf(types.ErrInvalid, "INSERT has %d target columns but the SELECT returns %d", len(target), len(p.cols))
		}
		for j, c := range p.cols {
			if f := fields[target[j]]; !implicitOK(c.Type, f.Type) && p.outputs[j].Type().Kind != types.KindInvalid {
				return nil, errf(types.ErrInvalid, "column %q is %s but the SELECT returns %s (%s); use CAST", f.Name, f.Type, c.Type, c.Name)
			}
		}
		res, err := e.runSelect(ctx, p)
		if err != nil {
			return nil, err
		}
		for n, in := range res.Rows {
			if n%checkEvery == checkEvery-1 {
				if err := ctx.Err(); err != nil {
					return nil, err
				}
			}
			row := cloneRow(defaults)
			for j, v := range in {
				f := fields[target[j]]
				if row[target[j]], err = castValue(v, p.outputs[j].Type(), f.Type, false); err != nil {
					return nil, rowErr(n+1, len(res.Rows), errf(types.ErrInvalid, "column %q: %s", f.Name, errText(err)))
				}
			}
			if err := check(row); err != nil {
				return nil, rowErr(n+1, len(res.Rows), err)
			}
			changes = append(changes, Change{Kind: types.Insert, Row: row})
		}
		return changes, nil
	}
	b := &binder{ctx: ctx, sc: &scope{where: "(VALUES cannot refer to columns)"}, now: e.now(), rand: e.rand, clause: "VALUES"}
	for n, vals := range s.rows {
		if len(vals) != len(target) {
			return nil, errf(types.ErrInvalid, "INSERT has %d target columns but row %d has %d values", len(target), n+1, len(vals))
		}
		row := cloneRow(defaults)
		for j, x := range vals {
			if err := e.resolveSubqueries(ctx, nil, x); err != nil {
				return nil, rowErr(n+1, len(s.rows), err)
			}
			v, err := b.bind(x)
			if err != nil {
				return nil, rowErr(n+1, len(s.rows), err)
			}
			val, err := v.Eval(nil)
			if err != nil {
				return nil, rowErr(n+1, len(s.rows), err)
			}
			if row[target[j]], err = assign(v, val, fields[target[j]]); err != nil {
				return nil, rowErr(n+1, len(s.rows), err)
			}
		}
		if err := check(row); err != nil {
			return nil, rowErr(n+1, len(s.rows), err)
		}
		changes = append(changes, Change{Kind: types.Insert, Row: row})
	}
	return changes, nil
}

// matching scans the latest snapshot of r for rows passing where, which
// has size nodes (see rowsPerCheck).
func (e *Engine) matching(ctx context.Context, r *relation, where bexpr, size int) ([]types.Row, error) {
	_, rows, err := e.scan(ctx, r, ScanSpec{Equals: pushdown(where), Ranges: pushdownRanges(where)})
	if err != nil {
		return nil, err
	}
	var out []types.Row
	n, every := 0, rowsPerCheck(size)
	for row, err := range rows {
		if err != nil {
			return nil, err
		}
		if n++; n%every == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		ok, err := passes(where, row)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, row)
		}
	}
	return out, nil
}

// bindWhere binds the condition of UPDATE or DELETE and returns it with
// its size in nodes.
func (e *Engine) bindWhere(ctx context.Context, r *relation, where expr) (bexpr, int, error) {
	if where == nil {
		return nil, 0, nil
	}
	sc := r.scope("")
	if err := e.resolveSubqueries(ctx, sc, where); err != nil {
		return nil, 0, err
	}
	b := &binder{ctx: ctx, sc: sc, now: e.now(), rand: e.rand, clause: "WHERE"}
	w, err := b.bind(where)
	if err != nil {
		return nil, 0, err
	}
	return w, b.nodes, needCondition(w, "WHERE")
}

func (e *Engine) execDelete(ctx context.Context, s *deleteStmt) (*Result, error) {
	r, err := e.writableTable(ctx, s.table)
	if err != nil {
		return nil, err
	}
	if err := checkDeleteEngine(r); err != nil {
		return nil, err
	}
	w, size, err := e.bindWhere(ctx, r, s.where)
	if err != nil {
		return nil, err
	}
	rows, err := e.matching(ctx, r, w, size)
	if err != nil {
		return nil, err
	}
	changes := make([]Change, len(rows))
	for i, row := range rows {
		changes[i] = Change{Kind: types.Delete, Row: row}
	}
	return e.apply(ctx, r, changes, "DELETE")
}

func (e *Engine) execUpdate(ctx context.Context, s *updateStmt) (*Result, error) {
	r, err := e.writableTable(ctx, s.table)
	if err != nil {
		return nil, err
	}
	b := &binder{ctx: ctx, sc: r.scope(""), now: e.now(), rand: e.rand, clause: "SET"}
	type set struct {
		idx int
		v   bexpr
	}
	var sets []set
	for _, a := range s.sets {
		i := r.schema.FieldIndex(a.col.name)
		if i < 0 {
			return nil, errf(types.ErrInvalid, "unknown column %q in table %s%s", a.col.name, r, fieldHint(a.col.name, r.schema))
		}
		f := r.schema.Fields[i]
		if containsFold(r.schema.PrimaryKeys, f.Name) {
			return nil, errf(types.ErrInvalid, "cannot UPDATE primary key column %q of table %s (DELETE and INSERT the row instead)", f.Name, r)
		}
		for _, o := range sets {
			if o.idx == i {
				return nil, errf(types.ErrInvalid, "column %q is SET twice", f.Name)
			}
		}
		if err := e.resolveSubqueries(ctx, b.sc, a.value); err != nil {
			return nil, err
		}
		v, err := b.bind(a.value)
		if err != nil {
			return nil, err
		}
		if c, ok := isLit(v); ok {
			if _, err := assign(v, c.v, f); err != nil {
				return nil, err
			}
		} else if !implicitOK(v.Type(), f.Type) {
			return nil, errf(types.ErrInvalid, "column %q is %s but %s is %s; use CAST", f.Name, f.Type, a.value, v.Type())
		}
		sets = append(sets, set{idx: i, v: v})
	}
	setIdx := make([]int, len(sets))
	for i, st := range sets {
		setIdx[i] = st.idx
	}
	plan, err := planUpdate(r, setIdx)
	if err != nil {
		return nil, err
	}
	w, size, err := e.bindWhere(ctx, r, s.where)
	if err != nil {
		return nil, err
	}
	rows, err := e.matching(ctx, r, w, size)
	if err != nil {
		return nil, err
	}
	changes := make([]Change, 0, len(rows))
	every := rowsPerCheck(b.nodes)
	for n, row := range rows {
		if n%every == every-1 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		next := slices.Clone(row)
		for _, st := range sets {
			val, err := st.v.Eval(row)
			if err != nil {
				return nil, err
			}
			if next[st.idx], err = assign(st.v, val, r.schema.Fields[st.idx]); err != nil {
				return nil, fmt.Errorf("%w (row with key %s)", err, keyText(r.schema, row))
			}
		}
		if err := r.schema.CheckRow(next); err != nil {
			return nil, fmt.Errorf("%w (row with key %s)", err, keyText(r.schema, row))
		}
		ch, err := plan.changes(row, next)
		if err != nil {
			return nil, err
		}
		changes = append(changes, ch...)
	}
	res, err := e.apply(ctx, r, changes, "UPDATE")
	if err == nil {
		res.Message = "UPDATE " + strconv.Itoa(len(rows))
	}
	return res, err
}

// keyText renders the primary key of row for messages: (id=1, k='a').
func keyText(s *types.Schema, row types.Row) string {
	var parts []string
	for _, i := range s.KeyIndexes() {
		if i >= 0 && i < len(row) {
			parts = append(parts, s.Fields[i].Name+"="+valueText(row[i], s.Fields[i].Type))
		}
	}
	return "(" + strings.Join(parts, ", ") + ")"
}
