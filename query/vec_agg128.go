package query

import (
	"math/big"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"

	"github.com/siltdb/silt/types"
)

// Aggregates of DECIMALs of more than 18 digits: SUM and AVG add in 128
// bits per group, going on in a big.Int once a group's sum leaves them
// (38-digit values: a sum of two already may); MIN and MAX compare in
// 128 bits. Results go through the row engine's sumState, as intSumAgg's.

func newVecAgg128(a *aggCall) vecAgg {
	switch a.name {
	case "SUM", "AVG":
		return &sum128Agg{call: a}
	case "MIN", "MAX":
		return &ord128Agg{max: a.name == "MAX"}
	}
	return &boxedAgg{call: a}
}

type sum128Agg struct {
	call *aggCall
	acc  []decimal128.Num
	big  []*big.Int // set for a group once its sum left 128 bits
	n    []int64
}

func (s *sum128Agg) grow(n int) {
	for len(s.acc) < n {
		s.acc = append(s.acc, decimal128.Num{})
		s.big = append(s.big, nil)
		s.n = append(s.n, 0)
	}
}

func (s *sum128Agg) add(g int, x decimal128.Num) {
	s.n[g]++
	if s.big[g] == nil {
		if r, ok := types.Add128(s.acc[g], x); ok {
			s.acc[g] = r
			return
		}
		s.big[g] = s.acc[g].BigInt()
	}
	s.big[g].Add(s.big[g], x.BigInt())
}

func (s *sum128Agg) update(a arrow.Array, gids []int32, n int) {
	x, ok := a.(*array.Decimal128)
	if !ok || x.NullN() == x.Len() {
		return
	}
	vals := x.Values()
	nulls := x.NullN() > 0
	if gids == nil && s.big[0] == nil {
		acc, cnt := s.acc[0], int64(0)
		for i, v := range vals {
			if nulls && x.IsNull(i) {
				continue
			}
			r, ok := types.Add128(acc, v)
			if !ok { // the rest goes through add
				s.acc[0], s.n[0] = acc, s.n[0]+cnt
				for j := i; j < len(vals); j++ {
					if !nulls || !x.IsNull(j) {
						s.add(0, vals[j])
					}
				}
				return
			}
			acc = r
			cnt++
		}
		s.acc[0], s.n[0] = acc, s.n[0]+cnt
		return
	}
	for i, v := range vals {
		if nulls && x.IsNull(i) {
			continue
		}
		g := 0
		if gids != nil {
			g = int(gids[i])
		}
		s.add(g, v)
	}
}

func (s *sum128Agg) result(g int) (types.Value, error) {
	st := &sumState{in: s.call.arg.Type(), out: s.call.t, avg: s.call.name == "AVG", n: s.n[g], text: s.call.text}
	if s.big[g] != nil {
		st.sum = new(big.Int).Set(s.big[g])
	} else {
		st.sum = s.acc[g].BigInt()
	}
	return st.result()
}

// ord128Agg is MIN or MAX; the first of equal values stays.
type ord128Agg struct {
	max bool
	cur []decimal128.Num
	set []bool
}

func (s *ord128Agg) grow(n int) {
	for len(s.cur) < n {
		s.cur = append(s.cur, decimal128.Num{})
		s.set = append(s.set, false)
	}
}

func (s *ord128Agg) update(a arrow.Array, gids []int32, n int) {
	x, ok := a.(*array.Decimal128)
	if !ok || x.NullN() == x.Len() {
		return
	}
	want := -1
	if s.max {
		want = 1
	}
	nulls := x.NullN() > 0
	for i, v := range x.Values() {
		if nulls && x.IsNull(i) {
			continue
		}
		g := 0
		if gids != nil {
			g = int(gids[i])
		}
		if !s.set[g] || cmp128(v, s.cur[g]) == want {
			s.cur[g], s.set[g] = v, true
		}
	}
}

func (s *ord128Agg) result(g int) (types.Value, error) {
	if !s.set[g] {
		return nil, nil
	}
	return types.Decimal128(s.cur[g]), nil
}
