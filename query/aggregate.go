package query

import (
	"encoding/binary"
	"math"
	"math/big"

	"github.com/siltdb/silt/types"
)

// Aggregate functions: COUNT(*), COUNT([DISTINCT] x), SUM, MIN, MAX, AVG.
// NULL inputs are ignored; over no non-NULL input COUNT is 0 and the others
// are NULL. SUM of integers is BIGINT, of DECIMAL(p,s) DECIMAL(18,s), of
// floats DOUBLE; AVG of DECIMAL(p,s) is DECIMAL(18,s+4), else DOUBLE.

func isAggregate(name string) bool {
	switch name {
	case "COUNT", "SUM", "MIN", "MAX", "AVG", "STRING_AGG", "APPROX_COUNT_DISTINCT":
		return true
	}
	return false
}

// aggCall is one aggregate of a query, with its argument bound over the
// input rows.
type aggCall struct {
	name     string
	star     bool
	distinct bool
	arg      bexpr // nil for COUNT(*)
	t        types.DataType
	text     string
	ext      *aggExt // STRING_AGG's separator and ORDER BY
}

func newAggCall(f *funcCall, args []bexpr) (*aggCall, error) {
	a := &aggCall{name: f.name, star: f.star, distinct: f.distinct, text: f.String()}
	if f.star {
		if f.name != "COUNT" {
			return nil, errf(types.ErrInvalid, "%s(*) is not valid; only COUNT(*) takes *", f.name)
		}
		a.t = types.TBigInt
		return a, nil
	}
	if len(args) != 1 {
		return nil, errf(types.ErrInvalid, "%s takes 1 argument, got %d", f.name, len(args))
	}
	a.arg = args[0]
	at := a.arg.Type()
	numeric := func() error {
		if !isNumeric(at.Kind) && at.Kind != types.KindInvalid {
			return errf(types.ErrInvalid, "%s needs a numeric argument, got %s in %s", f.name, at, f)
		}
		return nil
	}
	switch f.name {
	case "COUNT":
		a.t = types.TBigInt
	case "MIN", "MAX":
		a.t = at
	case "SUM":
		if err := numeric(); err != nil {
			return nil, err
		}
		switch {
		case isFloating(at.Kind):
			a.t = types.TDouble
		case at.Kind == types.DecimalKind:
			a.t = types.TDecimal(types.MaxDecimalPrecision, at.Scale)
		default:
			a.t = types.TBigInt
		}
	case "AVG":
		if err := numeric(); err != nil {
			return nil, err
		}
		a.t = types.TDouble
		if at.Kind == types.DecimalKind {
			a.t = types.TDecimal(types.MaxDecimalPrecision, min(types.MaxDecimalPrecision, at.Scale+4))
		}
	}
	return a, nil
}

// aggState accumulates one aggregate for one group.
type aggState interface {
	add(v types.Value) error // v is never NULL
	result() (types.Value, error)
}

func (a *aggCall) newState() aggState {
	var st aggState
	var at types.DataType
	if a.arg != nil {
		at = a.arg.Type()
	}
	switch a.name {
	case "COUNT":
		st = &countState{}
	case "MIN", "MAX":
		st = &minMaxState{t: at, max: a.name == "MAX"}
	case "SUM", "AVG":
		st = &sumState{in: at, out: a.t, avg: a.name == "AVG", text: a.text}
	default:
		st = a.moreState()
	}
	if a.distinct {
		st = &distinctState{inner: st, seen: map[string]struct{}{}}
	}
	return st
}

type countState struct{ n int64 }

func (s *countState) add(types.Value) error        { s.n++; return nil }
func (s *countState) result() (types.Value, error) { return s.n, nil }

type minMaxState struct {
	t   types.DataType
	max bool
	v   types.Value
}

func (s *minMaxState) add(v types.Value) error {
	if s.v == nil {
		s.v = v
		return nil
	}
	c := compareTyped(v, s.t, s.v, s.t)
	if (s.max && c > 0) || (!s.max && c < 0) {
		s.v = v
	}
	return nil
}

func (s *minMaxState) result() (types.Value, error) { return s.v, nil }

// sumState computes SUM and AVG: exactly for integers and decimals (in an
// int64 while the running sum fits, then in a big integer), in float64 for
// FLOAT and DOUBLE.
type sumState struct {
	in, out types.DataType
	avg     bool
	small   int64    // the exact sum while sum is nil
	sum     *big.Int // set once the sum overflowed int64
	tmp     big.Int
	fsum    float64
	n       int64
	text    string
}

func (s *sumState) add(v types.Value) error {
	s.n++
	var x int64
	switch y := v.(type) {
	case float32:
		s.fsum += float64(y)
		return nil
	case float64:
		s.fsum += y
		return nil
	case int32:
		x = int64(y)
	case int64:
		x = y
	case types.Decimal:
		x = int64(y)
	case types.Decimal128:
		if s.sum == nil {
			s.sum = big.NewInt(s.small)
		}
		s.sum.Add(s.sum, y.Num().BigInt())
		return nil
	default:
		return errf(types.ErrInvalid, "internal: non-numeric value in %s", s.text)
	}
	if s.sum == nil {
		r := s.small + x
		if (s.small^r)&(x^r) >= 0 { // no signed overflow
			s.small = r
			return nil
		}
		s.sum = big.NewInt(s.small)
	}
	s.sum.Add(s.sum, s.tmp.SetInt64(x))
	return nil
}

func (s *sumState) result() (types.Value, error) {
	if s.n == 0 {
		return nil, nil
	}
	if s.sum == nil {
		s.sum = big.NewInt(s.small)
	}
	switch {
	case isFloating(s.in.Kind):
		if s.avg {
			return s.fsum / float64(s.n), nil
		}
		return s.fsum, nil
	case s.avg && s.out.Kind == types.Double:
		f, _ := new(big.Rat).SetFrac(s.sum, big.NewInt(s.n)).Float64()
		return f, nil
	case s.avg: // DECIMAL
		num, _ := rescale(s.sum, s.in.Scale, s.out.Scale)
		q, _ := divRound(num, big.NewInt(s.n))
		if d, ok := fitsDecimal(q, s.out.Precision); ok {
			return d, nil
		}
	case s.out.Kind == types.DecimalKind:
		if d, ok := fitsDecimal(s.sum, s.out.Precision); ok {
			return d, nil
		}
	default:
		if s.sum.IsInt64() {
			return s.sum.Int64(), nil
		}
	}
	if s.out.Kind == types.DecimalKind {
		return nil, errf(types.ErrInvalid, "DECIMAL overflow: %s does not fit %s", s.text, s.out)
	}
	return nil, errf(types.ErrInvalid, "%s overflow in %s", s.out, s.text)
}

type distinctState struct {
	inner aggState
	seen  map[string]struct{}
}

func (s *distinctState) add(v types.Value) error {
	k := string(appendValueKey(nil, v))
	if _, ok := s.seen[k]; ok {
		return nil
	}
	s.seen[k] = struct{}{}
	return s.inner.add(v)
}

func (s *distinctState) result() (types.Value, error) { return s.inner.result() }

// appendValueKey appends an unambiguous encoding of v for grouping and
// DISTINCT (NULLs are equal to each other here; -0 equals 0).
func appendValueKey(dst []byte, v types.Value) []byte {
	switch x := v.(type) {
	case nil:
		return append(dst, 0)
	case bool:
		if x {
			return append(dst, 1, 1)
		}
		return append(dst, 1, 0)
	case int32:
		return binary.BigEndian.AppendUint32(append(dst, 2), uint32(x))
	case int64:
		return binary.BigEndian.AppendUint64(append(dst, 3), uint64(x))
	case float32:
		if x == 0 {
			x = 0
		} else if x != x {
			x = float32(math.NaN())
		}
		return binary.BigEndian.AppendUint32(append(dst, 4), math.Float32bits(x))
	case float64:
		if x == 0 {
			x = 0
		} else if x != x {
			x = math.NaN()
		}
		return binary.BigEndian.AppendUint64(append(dst, 5), math.Float64bits(x))
	case types.Decimal:
		return binary.BigEndian.AppendUint64(append(dst, 6), uint64(x))
	case types.Decimal128:
		return appendDecimal128Key(append(dst, 12), x.Num())
	case string:
		return append(binary.AppendUvarint(append(dst, 7), uint64(len(x))), x...)
	case []byte:
		return append(binary.AppendUvarint(append(dst, 8), uint64(len(x))), x...)
	case types.Date:
		return binary.BigEndian.AppendUint32(append(dst, 9), uint32(x))
	case types.Timestamp:
		return binary.BigEndian.AppendUint64(append(dst, 10), uint64(x))
	}
	if out, ok := appendTemporalKey(dst, v); ok {
		return out
	}
	return append(dst, 11)
}
