package query

import (
	"hash/fnv"
	"math"
	"math/bits"
	"slices"
	"strings"

	"github.com/siltdb/silt/types"
)

// Aggregates beyond aggregate.go: agg(…) FILTER (WHERE cond), STRING_AGG
// (x [, sep] [ORDER BY …]) and APPROX_COUNT_DISTINCT(x); and select-list
// aliases in HAVING and ORDER BY expressions of aggregate queries.
//
// FILTER needs no state of its own: the argument becomes CASE WHEN cond
// THEN arg END (COUNT(*) counts CASE WHEN cond THEN TRUE END), and every
// aggregate skips NULLs, so only the rows that pass count, on the row
// path and on batches alike.

// aggExt is what STRING_AGG adds to an aggregate call.
type aggExt struct {
	sep   string
	order []sortKey // over the packed argument's values after the first
}

// bindAggCall binds an aggregate call's arguments, FILTER and ORDER BY.
func bindAggCall(y *funcCall, argB *binder) (*aggCall, error) {
	args := make([]bexpr, len(y.args))
	for i, a := range y.args {
		v, err := argB.bind(a)
		if err != nil {
			return nil, err
		}
		args[i] = v
	}
	var a *aggCall
	switch y.name {
	case "STRING_AGG":
		if y.star {
			return nil, errf(types.ErrInvalid, "STRING_AGG(*) is not valid; only COUNT(*) takes *")
		}
		if err := argCount(y, args, 1, 2); err != nil {
			return nil, err
		}
		if y.distinct && len(y.order) > 0 {
			return nil, errf(types.ErrInvalid, "STRING_AGG(DISTINCT …) cannot have an ORDER BY in %s", y)
		}
		ext := &aggExt{sep: ","}
		if len(args) == 2 {
			s, err := constStr(y, args, 1, "the separator")
			if err != nil {
				return nil, err
			}
			ext.sep = s
		}
		a = &aggCall{name: y.name, distinct: y.distinct, text: y.String(), t: types.TString, arg: toString(args[0]), ext: ext}
		if len(y.order) > 0 {
			pack := &packB{vals: []bexpr{a.arg}}
			for i, o := range y.order {
				v, err := argB.bind(o.expr)
				if err != nil {
					return nil, err
				}
				pack.vals = append(pack.vals, v)
				k := sortKey{out: i, desc: o.desc, nullsFirst: !o.desc}
				if o.nulls != 0 {
					k.nullsFirst = o.nulls == 1
				}
				ext.order = append(ext.order, k)
			}
			a.arg = pack
		}
	case "APPROX_COUNT_DISTINCT":
		if y.star || y.distinct {
			return nil, errf(types.ErrInvalid, "APPROX_COUNT_DISTINCT takes one plain argument, got %s", y)
		}
		if err := argCount(y, args, 1, 1); err != nil {
			return nil, err
		}
		a = &aggCall{name: y.name, text: y.String(), t: types.TBigInt, arg: args[0]}
	default:
		if len(y.order) > 0 {
			return nil, errf(types.ErrInvalid, "ORDER BY inside %s is not supported (only STRING_AGG takes one)", y.name)
		}
		var err error
		if a, err = newAggCall(y, args); err != nil {
			return nil, err
		}
	}
	if y.filter != nil {
		cond, err := argB.bind(y.filter)
		if err != nil {
			return nil, err
		}
		if err := needCondition(cond, "FILTER"); err != nil {
			return nil, err
		}
		if a.star {
			a.star = false
			a.arg = &caseB{whens: []whenB{{cond: cond, result: &constB{v: true, t: types.TBoolean}}}, t: types.TBoolean}
		} else {
			a.arg = &caseB{whens: []whenB{{cond: cond, result: a.arg}}, t: a.arg.Type()}
		}
	}
	return a, nil
}

// moreState is the state of the aggregates of this file.
func (a *aggCall) moreState() aggState {
	switch a.name {
	case "STRING_AGG":
		return &stringAggState{ext: a.ext}
	case "APPROX_COUNT_DISTINCT":
		return &hllState{exact: map[uint64]struct{}{}}
	}
	return &countState{}
}

// packB evaluates several expressions into one []types.Value (NULL when
// the first is NULL): STRING_AGG's value with its ORDER BY keys. It has
// no Arrow type, so a query using it runs on the row path.
type packB struct{ vals []bexpr }

func (e *packB) Type() types.DataType { return types.DataType{} }
func (e *packB) Eval(r types.Row) (types.Value, error) {
	out := make([]types.Value, len(e.vals))
	for i, v := range e.vals {
		x, err := v.Eval(r)
		if err != nil {
			return nil, err
		}
		if i == 0 && x == nil {
			return nil, nil
		}
		out[i] = x
	}
	return out, nil
}

// stringAggState concatenates the values with the separator, in ORDER BY
// order (ties, and no ORDER BY: in the order the rows arrive).
type stringAggState struct {
	ext  *aggExt
	rows []sortedRow
}

func (s *stringAggState) add(v types.Value) error {
	if p, ok := v.([]types.Value); ok {
		s.rows = append(s.rows, sortedRow{vals: types.Row{p[0]}, keys: p[1:], seq: int64(len(s.rows))})
		return nil
	}
	s.rows = append(s.rows, sortedRow{vals: types.Row{v}, seq: int64(len(s.rows))})
	return nil
}

func (s *stringAggState) result() (types.Value, error) {
	if len(s.rows) == 0 {
		return nil, nil
	}
	rows := s.rows
	if len(s.ext.order) > 0 {
		rows = slices.Clone(rows) // result may be asked for again (window frames)
		slices.SortStableFunc(rows, func(a, b sortedRow) int { return compareRows(a, b, s.ext.order) })
	}
	var b strings.Builder
	for i, r := range rows {
		if i > 0 {
			b.WriteString(s.ext.sep)
		}
		str, _ := r.vals[0].(string)
		b.WriteString(str)
	}
	return b.String(), nil
}

// APPROX_COUNT_DISTINCT counts exactly up to hllExact distinct values per
// group, then estimates with a HyperLogLog of 2^hllP registers (standard
// error 1.04/sqrt(2^14) ≈ 0.8%).
const (
	hllExact = 4096
	hllP     = 14
)

type hllState struct {
	exact map[uint64]struct{} // hashes, while exact
	regs  []uint8
}

func hllHash(v types.Value) uint64 {
	h := fnv.New64a()
	h.Write(appendValueKey(nil, v))
	x := h.Sum64()
	// splitmix64's finalizer spreads FNV's bits over the whole word.
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

func (s *hllState) addHash(h uint64) {
	idx := h >> (64 - hllP)
	w := h<<hllP | 1<<(hllP-1)
	if r := uint8(bits.LeadingZeros64(w) + 1); r > s.regs[idx] {
		s.regs[idx] = r
	}
}

func (s *hllState) add(v types.Value) error {
	h := hllHash(v)
	if s.regs != nil {
		s.addHash(h)
		return nil
	}
	s.exact[h] = struct{}{}
	if len(s.exact) > hllExact {
		s.regs = make([]uint8, 1<<hllP)
		for k := range s.exact {
			s.addHash(k)
		}
		s.exact = nil
	}
	return nil
}

func (s *hllState) result() (types.Value, error) {
	if s.regs == nil {
		return int64(len(s.exact)), nil
	}
	m := float64(len(s.regs))
	sum, zeros := 0.0, 0
	for _, r := range s.regs {
		sum += math.Ldexp(1, -int(r))
		if r == 0 {
			zeros++
		}
	}
	est := 0.7213 / (1 + 1.079/m) * m * m / sum
	if est <= 2.5*m && zeros > 0 {
		est = m * math.Log(m/float64(zeros))
	}
	return int64(math.Round(est)), nil
}

// aliasBinder binds a bare name that is no column of the table but a
// select-list alias to that item's expression, in HAVING and ORDER BY
// expressions of aggregate queries (SELECT COUNT(*) AS c … HAVING c > 1).
type aliasBinder struct {
	items     []outItem
	sc        *scope
	b         *binder
	resolving []string
}

func (a *aliasBinder) bind(c *columnRef) (bexpr, bool, error) {
	if c.qual != "" || a.sc.lookup(c.name) >= 0 {
		return nil, false, nil
	}
	for _, it := range a.items {
		if !strings.EqualFold(it.name, c.name) {
			continue
		}
		if slices.ContainsFunc(a.resolving, func(s string) bool { return strings.EqualFold(s, c.name) }) {
			return nil, true, errf(types.ErrInvalid, "alias %q refers to itself", c.name)
		}
		a.resolving = append(a.resolving, c.name)
		v, err := a.b.bind(it.e)
		a.resolving = a.resolving[:len(a.resolving)-1]
		return v, true, err
	}
	return nil, false, nil
}
