package query

import (
	"context"
	"iter"
	"slices"
	"time"

	"github.com/siltdb/silt/types"
)

// Joins. A joined row is the left row, then the right row, then (for
// USING) the merged columns. Equality conjuncts of ON between a left and
// a right expression (and every USING column) are the keys of a hash
// join that builds on the right side; the rest of ON is checked on each
// pair the keys match. An ON without such a conjunct, and CROSS JOIN,
// pair every row with every row. Outer joins pad the side without a match
// with NULLs.

// joinPlan is a planned join.
type joinPlan struct {
	kind         joinKind
	l, r         *fromSource
	nl, nr       int
	lkeys, rkeys []bexpr // rkeys read the joined row (right columns after nl)
	residual     bexpr   // over the joined row; nil = none
	merged       []mergedCol
	every        int
	sc           *scope       // the joined row's, for EXPLAIN
	vec          *vecJoin     // the batch form; nil: rows
	m            *nodeMeasure // EXPLAIN ANALYZE
}

// mergedCol is a USING column: COALESCE(left, right) in type t.
type mergedCol struct {
	l, r   int // positions in the joined row
	lt, rt types.DataType
	t      types.DataType
}

func (e *Engine) planJoin(ctx context.Context, j *joinRef, now time.Time) (*fromSource, error) {
	l, err := e.planFrom(ctx, j.left, now)
	if err != nil {
		return nil, err
	}
	r, err := e.planFrom(ctx, j.right, now)
	if err != nil {
		if j.right.query != nil {
			if ref := outerRef(j.right.query, l.sc, err); ref != "" {
				return nil, errf(types.ErrInvalid, "a subquery in FROM cannot refer to %s of another FROM item (LATERAL is not supported); join on it instead", ref)
			}
		}
		return nil, err
	}
	for _, q := range r.sc.quals {
		if slices.Contains(l.sc.quals, q) {
			return nil, errf(types.ErrInvalid, "table name or alias %q appears twice in FROM; give one of them another alias", q)
		}
	}
	jp := &joinPlan{kind: j.kind, l: l, r: r, nl: len(l.sc.cols), nr: len(r.sc.cols), every: checkEvery, m: &nodeMeasure{}}
	sc := &scope{where: "in the FROM clause", quals: append(slices.Clone(l.sc.quals), r.sc.quals...)}
	sc.cols = append(slices.Clone(l.sc.cols), r.sc.cols...)
	for _, side := range []*scope{l.sc, r.sc} {
		for i := range side.cols {
			sc.ext = append(sc.ext, side.extOf(i))
		}
	}
	lstar, rstar := l.sc.starList(), r.sc.starList()
	var cond bexpr
	using := j.using
	if j.natural {
		if using, err = naturalUsing(l.sc, r.sc, j.pos); err != nil {
			return nil, err
		}
	}
	for _, u := range using {
		li, err := l.sc.find("", u.name)
		if err != nil {
			return nil, err
		}
		ri, err := r.sc.find("", u.name)
		if err != nil {
			return nil, err
		}
		if li < 0 || ri < 0 {
			side := "left"
			if li >= 0 {
				side = "right"
			}
			return nil, errf(types.ErrInvalid, "column %q of USING is not in the %s side of the join", u.name, side)
		}
		lt, rt := l.sc.cols[li].t, r.sc.cols[ri].t
		t, ok := commonType(lt, rt)
		if !ok || !canCompare(lt, rt) {
			return nil, errf(types.ErrInvalid, "type mismatch: USING (%s) joins %s with %s", quoteIdent(u.name), typeName(lt), typeName(rt))
		}
		for _, m := range jp.merged {
			if m.l == li {
				return nil, errf(types.ErrInvalid, "column %q appears twice in USING", u.name)
			}
		}
		jp.merged = append(jp.merged, mergedCol{l: li, r: jp.nl + ri, lt: lt, rt: rt, t: t})
		jp.addKey(&colB{idx: li, t: lt, name: u.name}, &colB{idx: jp.nl + ri, t: rt, name: u.name})
		sc.ext[li].hidden, sc.ext[jp.nl+ri].hidden = true, true
		rstar = slices.DeleteFunc(rstar, func(i int) bool { return i == ri })
	}
	// * lists the merged columns where the left side has them (as
	// DuckDB does), then the right side's other columns.
	width := jp.nl + jp.nr
	for k, m := range jp.merged {
		sc.cols = append(sc.cols, scopeCol{name: l.sc.cols[m.l].name, t: m.t})
		sc.ext = append(sc.ext, colExt{quals: []string{}, bareOnly: true})
		if at := slices.Index(lstar, m.l); at >= 0 {
			lstar[at] = width + k
		} else {
			lstar = append(lstar, width+k)
		}
	}
	sc.star = lstar
	for _, i := range rstar {
		sc.star = append(sc.star, jp.nl+i)
	}
	if sc.star == nil {
		sc.star = []int{}
	}
	if j.on != nil {
		if err := e.resolveSubqueries(ctx, sc, j.on); err != nil {
			return nil, err
		}
		b := &binder{ctx: ctx, sc: sc, now: now, clause: "JOIN … ON"}
		if cond, err = b.bind(j.on); err != nil {
			return nil, err
		}
		if err := needCondition(cond, "JOIN … ON"); err != nil {
			return nil, err
		}
		jp.splitOn(cond)
	}
	jp.sc = sc
	if !e.rowEngine {
		if vj := compileJoin(jp); vj != nil {
			jp.vec = vj
			bs := vj.source()
			return &fromSource{sc: sc, push: jp.push, explain: jp.explain, batch: bs, open: func(ctx context.Context) (int64, iter.Seq2[types.Row, error], error) {
				snap, batches, err := bs.open(ctx)
				if err != nil {
					return 0, nil, err
				}
				return snap, batchRows(batches), nil
			}}, nil
		}
	}
	return &fromSource{sc: sc, open: measureOpen(jp.m, jp.open), push: jp.push, explain: jp.explain}, nil
}

// starList is the scope's * expansion as positions.
func (s *scope) starList() []int {
	if s.star != nil {
		return slices.Clone(s.star)
	}
	out := make([]int, len(s.cols))
	for i := range out {
		out[i] = i
	}
	return out
}

// addKey adds an equi-join key, both sides converted to their common type
// so that equal values hash alike.
func (jp *joinPlan) addKey(l, r bexpr) {
	t, _ := commonType(l.Type(), r.Type())
	if !l.Type().Equal(t) {
		l = &castB{x: l, to: t}
	}
	if !r.Type().Equal(t) {
		r = &castB{x: r, to: t}
	}
	jp.lkeys, jp.rkeys = append(jp.lkeys, l), append(jp.rkeys, r)
}

// side reports which side of the join e reads: 1 left only, 2 right
// only, 0 both, none, or unknown.
func (jp *joinPlan) side(e bexpr) int {
	var cols []int
	if !collectColumns(e, &cols) || len(cols) == 0 {
		return 0
	}
	s := 0
	for _, c := range cols {
		cs := 1
		if c >= jp.nl {
			cs = 2
		}
		if c >= jp.nl+jp.nr || (s != 0 && s != cs) {
			return 0
		}
		s = cs
	}
	return s
}

// splitOn takes the hashable equalities out of an ON condition.
func (jp *joinPlan) splitOn(cond bexpr) {
	var rest []bexpr
	var rec func(b bexpr)
	rec = func(b bexpr) {
		if a, ok := b.(*andB); ok {
			rec(a.l)
			rec(a.r)
			return
		}
		if c, ok := b.(*cmpB); ok && c.op == "=" {
			ls, rs := jp.side(c.l), jp.side(c.r)
			if _, ok := commonType(c.l.Type(), c.r.Type()); ok && c.l.Type().Kind != types.KindInvalid && c.r.Type().Kind != types.KindInvalid {
				switch {
				case ls == 1 && rs == 2:
					jp.addKey(c.l, c.r)
					return
				case ls == 2 && rs == 1:
					jp.addKey(c.r, c.l)
					return
				}
			}
		}
		rest = append(rest, b)
	}
	rec(cond)
	for _, b := range rest {
		if jp.residual == nil {
			jp.residual = b
		} else {
			jp.residual = &andB{l: jp.residual, r: b}
		}
	}
}

// key encodes the join key of row (nil when a part is NULL: no match).
func joinKey(dst []byte, keys []bexpr, row types.Row) ([]byte, bool, error) {
	dst = dst[:0]
	for _, k := range keys {
		v, err := k.Eval(row)
		if err != nil {
			return nil, false, err
		}
		if v == nil {
			return dst, false, nil
		}
		dst = appendValueKey(dst, v)
	}
	return dst, true, nil
}

func (jp *joinPlan) open(ctx context.Context) (int64, iter.Seq2[types.Row, error], error) {
	snap, lrows, err := jp.l.open(ctx)
	if err != nil {
		return 0, nil, err
	}
	_, rrows, err := jp.r.open(ctx)
	if err != nil {
		return 0, nil, err
	}
	nl, nr, width := jp.nl, jp.nr, jp.nl+jp.nr+len(jp.merged)
	return snap, func(yield func(types.Row, error) bool) {
		// Build: the right rows, hashed by key when there are keys.
		var right []types.Row
		table := map[string][]int{}
		pad := make(types.Row, nl+nr)
		var key []byte
		n := 0
		tick := func() error {
			if n++; n%jp.every == 0 {
				return ctx.Err()
			}
			return nil
		}
		for row, err := range rrows {
			if err == nil {
				err = tick()
			}
			if err != nil {
				yield(nil, err)
				return
			}
			right = append(right, row)
			if len(jp.rkeys) > 0 {
				copy(pad[nl:], row)
				k, ok, err := joinKey(key, jp.rkeys, pad)
				if err != nil {
					yield(nil, err)
					return
				}
				key = k
				if ok {
					table[string(k)] = append(table[string(k)], len(right)-1)
				}
			}
		}
		all := make([]int, len(right))
		for i := range all {
			all[i] = i
		}
		var matched []bool
		if jp.kind == joinRight || jp.kind == joinFull {
			matched = make([]bool, len(right))
		}
		joined := func(l, r types.Row) (types.Row, error) {
			out := make(types.Row, width)
			copy(out, l)
			copy(out[nl:], r)
			for k, m := range jp.merged {
				v, t := out[m.l], m.lt
				if v == nil {
					v, t = out[m.r], m.rt
				}
				if v != nil && !t.Equal(m.t) {
					c, err := castValue(v, t, m.t, false)
					if err != nil {
						return nil, err
					}
					v = c
				}
				out[nl+nr+k] = v
			}
			return out, nil
		}
		// Probe with each left row.
		for lrow, err := range lrows {
			if err == nil {
				err = tick()
			}
			if err != nil {
				yield(nil, err)
				return
			}
			cands := all
			if len(jp.lkeys) > 0 {
				k, ok, err := joinKey(key, jp.lkeys, lrow)
				if err != nil {
					yield(nil, err)
					return
				}
				key = k
				cands = nil
				if ok {
					cands = table[string(k)]
				}
			}
			hit := false
			for _, ri := range cands {
				if err := tick(); err != nil {
					yield(nil, err)
					return
				}
				out, err := joined(lrow, right[ri])
				if err == nil && jp.residual != nil {
					var ok bool
					if ok, err = passes(jp.residual, out); err == nil && !ok {
						continue
					}
				}
				if err != nil {
					yield(nil, err)
					return
				}
				hit = true
				if matched != nil {
					matched[ri] = true
				}
				if !yield(out, nil) {
					return
				}
			}
			if !hit && (jp.kind == joinLeft || jp.kind == joinFull) {
				out, err := joined(lrow, nil)
				if err != nil || !yield(out, nil) {
					if err != nil {
						yield(nil, err)
					}
					return
				}
			}
		}
		for ri, m := range matched {
			if m {
				continue
			}
			out, err := joined(nil, right[ri])
			if err != nil {
				yield(nil, err)
				return
			}
			if !yield(out, nil) {
				return
			}
		}
	}, nil
}
