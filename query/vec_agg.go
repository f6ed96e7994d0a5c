package query

import (
	"context"
	"iter"
	"math/big"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/siltdb/silt/types"
)

// Hash aggregation over batches: GROUP BY keys are evaluated per batch and
// mapped to dense group ids in first-appearance order (vec_agg_key.go);
// each aggregate keeps typed per-group state updated by typed loops over
// the argument's array (vec_agg_state.go). COUNT, SUM, AVG, MIN and MAX
// over the numeric (DECIMAL of any precision: vec_agg128.go), date and
// string types have typed states; DISTINCT
// aggregates and MIN/MAX of BOOLEAN keep the row engine's aggregate states
// (aggregate.go), fed from the arrays. Results, overflow errors and NULL
// rules are the row engine's: the typed states hand their totals to the
// same result code. HAVING and the select list then run on the aggregate
// rows (one per group) exactly as on the row path.

// vecAgg is one aggregate's state over every group.
type vecAgg interface {
	// grow makes room for groups 0..n-1.
	grow(n int)
	// update adds the rows of a (nil for COUNT(*): n rows) to the groups
	// gids gives (nil: group 0); NULLs are skipped.
	update(a arrow.Array, gids []int32, n int)
	// result returns group g's value.
	result(g int) (types.Value, error)
}

// aggregateVec is aggregate on batches: it groups the rows of in that
// pass WHERE and emits one aggregate row per group (keys, then aggregate
// results) that passes HAVING.
func (p *selectPlan) aggregateVec(ctx context.Context, vp *vecPlan, in iter.Seq2[arrow.Record, error], emit func(types.Row) (bool, error)) error {
	aggs := make([]vecAgg, len(p.aggs))
	for j, a := range p.aggs {
		aggs[j] = newVecAgg(a)
	}
	var gr *grouper
	groups := 1 // without GROUP BY there is exactly one group, rows or not
	if len(p.groupBy) > 0 {
		gr, groups = newGrouper(len(p.groupBy)), 0
	}
	for _, a := range aggs {
		a.grow(groups)
	}
	var gids []int32
	for b, err := range in {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		start, filterBefore := p.stats.now(), p.stats.filterSpent()
		keys, args, n, err := vp.aggInputs(ctx, b)
		if err != nil && !isCtxErr(ctx, err) {
			// Evaluated row by row, the batch either fails with the row
			// path's first error or (a kernel at fault) goes on.
			if keys, args, n, err = vp.rowForm().aggInputs(ctx, b); err != nil && !isCtxErr(ctx, err) {
				return vp.replayAgg(b, err)
			}
		}
		if err != nil {
			return err
		}
		if n == 0 {
			releaseAll(keys)
			releaseAll(args)
			continue
		}
		if gr != nil {
			gids = gr.assign(keys, n, gids)
			if len(gr.keys) > groups {
				groups = len(gr.keys)
				for _, a := range aggs {
					a.grow(groups)
				}
			}
		}
		for j, a := range aggs {
			a.update(args[j], gids, n)
		}
		releaseAll(keys)
		releaseAll(args)
		p.stats.aggregated(start, filterBefore)
	}
	for g := 0; g < groups; g++ {
		var row types.Row
		if gr != nil {
			row = slices.Clone(gr.keys[g])
		}
		for _, a := range aggs {
			v, err := a.result(g)
			if err != nil {
				return err
			}
			row = append(row, v)
		}
		ok, err := passes(p.having, row)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		if _, err := emit(row); err != nil {
			return err
		}
	}
	return nil
}

// aggInputs filters b by WHERE and evaluates the group keys and the
// aggregate arguments over the rows left, of which there are n.
func (vp *vecPlan) aggInputs(ctx context.Context, b arrow.Record) (keys, args []arrow.Array, n int, err error) {
	sel, err := vp.selectRows(ctx, b)
	if err != nil {
		return nil, nil, 0, err
	}
	defer sel.Release()
	if keys, err = evalAll(ctx, vp.groupBy, sel); err != nil {
		return nil, nil, 0, err
	}
	if args, err = evalAll(ctx, vp.args, sel); err != nil {
		releaseAll(keys)
		return nil, nil, 0, err
	}
	return keys, args, int(sel.NumRows()), nil
}

// rowForm returns vp with every expression evaluated row by row (rowVec).
func (vp *vecPlan) rowForm() *vecPlan {
	p := vp.p
	rp := *vp
	row := func(b bexpr, v vecExpr) vecExpr {
		if b == nil || v == nil {
			return v
		}
		if c, ok := v.(checkedVec); ok {
			return checkedVec{v: &rowVec{e: b}, want: c.want}
		}
		return &rowVec{e: b}
	}
	rp.where = row(p.where, vp.where)
	rp.groupBy = make([]vecExpr, len(vp.groupBy))
	for i, g := range p.groupBy {
		rp.groupBy[i] = row(g, vp.groupBy[i])
	}
	rp.args = make([]vecExpr, len(vp.args))
	for i, a := range p.aggs {
		rp.args[i] = row(a.arg, vp.args[i])
	}
	return &rp
}

// replayAgg finds the error the row path reports for batch b (WHERE, then
// the group keys, then the arguments, row by row) after its batch
// evaluation failed with verr. Any such error ends the statement.
func (vp *vecPlan) replayAgg(b arrow.Record, verr error) error {
	p := vp.p
	for _, row := range types.RecordRows(b) {
		ok, err := passes(p.where, row)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		for _, g := range p.groupBy {
			if _, err := g.Eval(row); err != nil {
				return err
			}
		}
		for _, a := range p.aggs {
			if a.arg != nil {
				if _, err := a.arg.Eval(row); err != nil {
					return err
				}
			}
		}
	}
	return verr
}

// newVecAgg returns the state of aggregate a: typed where there is one,
// else the row engine's states.
func newVecAgg(a *aggCall) vecAgg {
	if a.star {
		return &countAgg{}
	}
	if a.distinct {
		return &boxedAgg{call: a}
	}
	at := a.arg.Type()
	if at.Is128() && a.name != "COUNT" {
		return newVecAgg128(a)
	}
	switch a.name {
	case "COUNT":
		return &countAgg{}
	case "SUM", "AVG":
		switch at.Kind {
		case types.Int, types.BigInt, types.DecimalKind:
			return &intSumAgg{call: a}
		case types.Float, types.Double:
			return &floatSumAgg{call: a}
		}
	case "MIN", "MAX":
		isMax := a.name == "MAX"
		switch at.Kind {
		case types.Int:
			return &ordAgg[int32]{max: isMax, vals: func(x arrow.Array) []int32 { return x.(interface{ Int32Values() []int32 }).Int32Values() },
				box: func(v int32) types.Value { return v }}
		case types.BigInt:
			return &ordAgg[int64]{max: isMax, vals: int64Values, box: func(v int64) types.Value { return v }}
		case types.Float:
			return &ordAgg[float32]{max: isMax, vals: func(x arrow.Array) []float32 { return x.(interface{ Float32Values() []float32 }).Float32Values() },
				box: func(v float32) types.Value { return v }}
		case types.Double:
			return &ordAgg[float64]{max: isMax, vals: func(x arrow.Array) []float64 { return x.(interface{ Float64Values() []float64 }).Float64Values() },
				box: func(v float64) types.Value { return v }}
		case types.DecimalKind:
			return &ordAgg[int64]{max: isMax, vals: decimalValues, box: func(v int64) types.Value { return types.Decimal(v) }}
		case types.DateKind:
			return &ordAgg[arrow.Date32]{max: isMax, vals: func(x arrow.Array) []arrow.Date32 {
				return x.(interface{ Date32Values() []arrow.Date32 }).Date32Values()
			},
				box: func(v arrow.Date32) types.Value { return types.Date(v) }}
		case types.TimestampKind:
			return &ordAgg[arrow.Timestamp]{max: isMax, vals: func(x arrow.Array) []arrow.Timestamp {
				return x.(interface{ TimestampValues() []arrow.Timestamp }).TimestampValues()
			}, box: func(v arrow.Timestamp) types.Value { return types.Timestamp(v) }}
		case types.String:
			return &strAgg{max: isMax}
		case types.Bytes:
			return &bytesAgg{max: isMax}
		}
	}
	return &boxedAgg{call: a}
}

// boxedAgg keeps the row engine's aggregate state per group and feeds it
// the boxed non-NULL values (DISTINCT and the rare cases).
type boxedAgg struct {
	call   *aggCall
	states []aggState
}

func (s *boxedAgg) grow(n int) {
	for len(s.states) < n {
		s.states = append(s.states, s.call.newState())
	}
}

func (s *boxedAgg) update(a arrow.Array, gids []int32, n int) {
	for i := 0; i < n; i++ {
		g := 0
		if gids != nil {
			g = int(gids[i])
		}
		v := types.Value(true)
		if a != nil {
			if a.IsNull(i) {
				continue
			}
			v = types.ValueAt(a, i)
		}
		// The row engine's states fail only on a value of the wrong
		// type, which a batch of the argument's type cannot hold.
		_ = s.states[g].add(v)
	}
}

func (s *boxedAgg) result(g int) (types.Value, error) { return s.states[g].result() }

// intSumAgg is SUM and AVG of INT, BIGINT and DECIMAL (the unscaled
// int64): exact, in an int64 per group while it fits, then a big.Int.
type intSumAgg struct {
	call  *aggCall
	small []int64
	sum   []*big.Int // set for a group once its sum overflowed int64
	n     []int64
	tmp   big.Int
}

func (s *intSumAgg) grow(n int) {
	for len(s.small) < n {
		s.small = append(s.small, 0)
		s.sum = append(s.sum, nil)
		s.n = append(s.n, 0)
	}
}

// add adds x to group g.
func (s *intSumAgg) add(g int, x int64) {
	if s.sum[g] == nil {
		r := s.small[g] + x
		if (s.small[g]^r)&(x^r) >= 0 { // no signed overflow
			s.small[g] = r
			return
		}
		s.sum[g] = big.NewInt(s.small[g])
	}
	s.sum[g].Add(s.sum[g], s.tmp.SetInt64(x))
}

func (s *intSumAgg) update(a arrow.Array, gids []int32, n int) {
	if a == nil || a.NullN() == a.Len() {
		return
	}
	switch x := a.(type) {
	case interface{ Int32Values() []int32 }:
		sumInts(s, a, x.Int32Values(), gids)
	case interface{ Int64Values() []int64 }:
		sumInts(s, a, x.Int64Values(), gids)
	case *array.Decimal128:
		sumDecimals(s, x, gids)
	}
}

// sumDecimals is sumInts over the unscaled values of a decimal array (its
// low 64 bits), without copying them out.
func sumDecimals(s *intSumAgg, a *array.Decimal128, gids []int32) {
	vals := a.Values()
	nulls := a.NullN() > 0
	if gids != nil || s.sum[0] != nil {
		for i, v := range vals {
			if nulls && a.IsNull(i) {
				continue
			}
			g := 0
			if gids != nil {
				g = int(gids[i])
			}
			s.n[g]++
			s.add(g, int64(v.LowBits()))
		}
		return
	}
	small, cnt := s.small[0], int64(0)
	for i, v := range vals {
		if nulls && a.IsNull(i) {
			continue
		}
		x := int64(v.LowBits())
		r := small + x
		if (small^r)&(x^r) < 0 { // overflow: the rest goes through add
			s.small[0] = small
			s.n[0] += cnt
			for j := i; j < len(vals); j++ {
				if !nulls || !a.IsNull(j) {
					s.n[0]++
					s.add(0, int64(vals[j].LowBits()))
				}
			}
			return
		}
		small = r
		cnt++
	}
	s.small[0] = small
	s.n[0] += cnt
}

// sumInts adds the non-NULL vals (the values of a) to their groups.
func sumInts[T int32 | int64](s *intSumAgg, a arrow.Array, vals []T, gids []int32) {
	nulls := a.NullN() > 0
	if gids == nil {
		// One group: a running int64 with the overflow check, leaving
		// the loop only on overflow.
		small, cnt := s.small[0], int64(0)
		for i, v := range vals {
			if nulls && a.IsNull(i) {
				continue
			}
			cnt++
			x := int64(v)
			if s.sum[0] == nil {
				r := small + x
				if (small^r)&(x^r) >= 0 {
					small = r
					continue
				}
				s.small[0] = small
				s.sum[0] = big.NewInt(small)
			}
			s.sum[0].Add(s.sum[0], s.tmp.SetInt64(x))
		}
		s.small[0] = small
		s.n[0] += cnt
		return
	}
	for i, v := range vals {
		if nulls && a.IsNull(i) {
			continue
		}
		g := int(gids[i])
		s.n[g]++
		s.add(g, int64(v))
	}
}

func (s *intSumAgg) result(g int) (types.Value, error) {
	st := &sumState{in: s.call.arg.Type(), out: s.call.t, avg: s.call.name == "AVG", small: s.small[g], n: s.n[g], text: s.call.text}
	if s.sum[g] != nil {
		st.sum = new(big.Int).Set(s.sum[g])
	}
	return st.result()
}

// floatSumAgg is SUM and AVG of FLOAT and DOUBLE: a float64 per group,
// added in row order as the row engine does.
type floatSumAgg struct {
	call *aggCall
	sum  []float64
	n    []int64
}

func (s *floatSumAgg) grow(n int) {
	for len(s.sum) < n {
		s.sum = append(s.sum, 0)
		s.n = append(s.n, 0)
	}
}

func (s *floatSumAgg) update(a arrow.Array, gids []int32, n int) {
	if a == nil || a.NullN() == a.Len() {
		return
	}
	switch x := a.(type) {
	case interface{ Float32Values() []float32 }:
		sumFloats(s, a, x.Float32Values(), gids)
	case interface{ Float64Values() []float64 }:
		sumFloats(s, a, x.Float64Values(), gids)
	}
}

func sumFloats[T float32 | float64](s *floatSumAgg, a arrow.Array, vals []T, gids []int32) {
	nulls := a.NullN() > 0
	if gids == nil {
		sum, cnt := s.sum[0], int64(0)
		for i, v := range vals {
			if nulls && a.IsNull(i) {
				continue
			}
			cnt++
			sum += float64(v)
		}
		s.sum[0] = sum
		s.n[0] += cnt
		return
	}
	for i, v := range vals {
		if nulls && a.IsNull(i) {
			continue
		}
		g := gids[i]
		s.n[g]++
		s.sum[g] += float64(v)
	}
}

func (s *floatSumAgg) result(g int) (types.Value, error) {
	st := &sumState{in: s.call.arg.Type(), out: s.call.t, avg: s.call.name == "AVG", fsum: s.sum[g], n: s.n[g], text: s.call.text}
	return st.result()
}

// countAgg is COUNT(*) (a nil array: every row) and COUNT(x) (the
// non-NULL values, from the validity bitmap).
type countAgg struct{ n []int64 }

func (s *countAgg) grow(n int) {
	for len(s.n) < n {
		s.n = append(s.n, 0)
	}
}

func (s *countAgg) update(a arrow.Array, gids []int32, n int) {
	if gids == nil {
		if a == nil {
			s.n[0] += int64(n)
		} else {
			s.n[0] += int64(a.Len() - a.NullN())
		}
		return
	}
	nulls := a != nil && a.NullN() > 0
	for i, g := range gids[:n] {
		if nulls && a.IsNull(i) {
			continue
		}
		s.n[g]++
	}
}

func (s *countAgg) result(g int) (types.Value, error) { return s.n[g], nil }
