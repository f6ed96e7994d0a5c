package query

import (
	"context"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/decimal128"

	"github.com/siltdb/silt/types"
)

// COALESCE and CASE: each argument or branch is evaluated only on the
// rows still undecided (or taking the branch), as the row engine does;
// the result gathers every row's value from the array that decided it.

// pickNone marks a row no array decided: NULL.
const pickNone = -1

// gather builds an array of type at whose row i is row i of
// arrs[pick[i]] (NULL for pickNone). Every array has type at.
func gather(at arrow.DataType, arrs []arrow.Array, pick []int32) arrow.Array {
	n := len(pick)
	valid := make([]byte, bitutil.BytesForBits(int64(n)))
	valids := make([][]byte, len(arrs))
	for j, a := range arrs {
		valids[j] = validOf(a)
	}
	for i, p := range pick {
		if p != pickNone && (valids[p] == nil || bitutil.BitIsSet(valids[p], i)) {
			setBit(valid, i)
		}
	}
	switch at.ID() {
	case arrow.INT32, arrow.DATE32:
		return newFixedArray(at, gatherFixed[int32](arrs, pick), valid)
	case arrow.INT64, arrow.TIMESTAMP, arrow.TIME64:
		return newFixedArray(at, gatherFixed[int64](arrs, pick), valid)
	case arrow.FIXED_SIZE_BINARY: // UUID
		return newFixedArray(at, gatherFixed[types.UUID](arrs, pick), valid)
	case arrow.FLOAT32:
		return newFixedArray(at, gatherFixed[float32](arrs, pick), valid)
	case arrow.FLOAT64:
		return newFixedArray(at, gatherFixed[float64](arrs, pick), valid)
	case arrow.DECIMAL128:
		return newFixedArray(at, gatherFixed[decimal128.Num](arrs, pick), valid)
	case arrow.BOOL:
		bits := make([][]byte, len(arrs))
		for j, a := range arrs {
			bits[j] = boolVals(a)
		}
		val := make([]byte, len(valid))
		for i, p := range pick {
			if p != pickNone && bitutil.BitIsSet(bits[p], i) {
				setBit(val, i)
			}
		}
		return newBoolArray(n, val, valid)
	case arrow.STRING, arrow.BINARY:
		offs := make([][]int32, len(arrs))
		datas := make([][]byte, len(arrs))
		for j, a := range arrs {
			offs[j], datas[j] = varBin(a)
		}
		out := make([]int32, n+1)
		var data []byte
		for i, p := range pick {
			if bitutil.BitIsSet(valid, i) {
				data = append(data, datas[p][offs[p][i]:offs[p][i+1]]...)
			}
			out[i+1] = int32(len(data))
		}
		return newVarArray(at, out, data, valid)
	}
	return nullArray(at, n)
}

func gatherFixed[T any](arrs []arrow.Array, pick []int32) []T {
	vals := make([][]T, len(arrs))
	for j, a := range arrs {
		vals[j] = fixedVals[T](a)
	}
	out := make([]T, len(pick))
	for i, p := range pick {
		if p != pickNone {
			out[i] = vals[p][i]
		}
	}
	return out
}

// activeMask is the bitmap of the rows of s (below n).
func activeMask(s vsel, n int) []byte {
	if s.mask != nil {
		return append([]byte(nil), s.mask...)
	}
	return ones(n)
}

// coalesceK is COALESCE: argument j runs where every earlier one was NULL.
type coalesceK struct {
	args []kern
	at   arrow.DataType
}

func (k *coalesceK) run(ctx context.Context, b arrow.Record, s vsel) (arrow.Array, *vfail) {
	n := int(b.NumRows())
	rn := &vrun{ctx: ctx, b: b, s: s}
	pending := activeMask(s, n)
	pick := make([]int32, n)
	for i := range pick {
		pick[i] = pickNone
	}
	var arrs []arrow.Array
	defer func() {
		for _, a := range arrs {
			a.Release()
		}
	}()
	for j, x := range k.args {
		a := rn.eval(x, pending)
		arrs = append(arrs, a)
		v := validOrOnes(a)
		for i := 0; i < rn.s.n; i++ {
			if bitutil.BitIsSet(pending, i) && bitutil.BitIsSet(v, i) {
				pick[i] = int32(j)
				bitutil.ClearBit(pending, i)
			}
		}
	}
	return gather(k.at, arrs, pick), rn.fail
}

// caseK is CASE: WHEN j runs on the rows no earlier WHEN took, and its
// result on the rows it takes.
type caseK struct {
	operand kern
	opType  types.DataType
	whens   []caseWhen
	els     kern
	at      arrow.DataType
	rk      *rowKern
}

type caseWhen struct {
	cond, result kern
	condType     types.DataType
	dom          cmpDom
	scale        int
}

func newCaseK(e *caseB) kern {
	at, err := types.ArrowType(e.t)
	if err != nil {
		return nil
	}
	k := &caseK{at: at, rk: newRowKern(e)}
	if e.operand != nil {
		k.operand, k.opType = compileKern(e.operand), e.operand.Type()
	}
	for _, w := range e.whens {
		cw := caseWhen{cond: compileKern(w.cond), result: compileKern(w.result), condType: w.cond.Type()}
		if e.operand != nil {
			var ok bool
			if cw.dom, cw.scale, ok = cmpDomain(k.opType, cw.condType); !ok {
				return nil
			}
		}
		k.whens = append(k.whens, cw)
	}
	if e.els != nil {
		k.els = compileKern(e.els)
	}
	return k
}

func (k *caseK) run(ctx context.Context, b arrow.Record, s vsel) (arrow.Array, *vfail) {
	n := int(b.NumRows())
	nb := len(ones(n))
	rn := &vrun{ctx: ctx, b: b, s: s}
	var arrs []arrow.Array
	defer func() {
		for _, a := range arrs {
			a.Release()
		}
	}()
	var op arrow.Array
	var opValid []byte
	if k.operand != nil {
		op = rn.eval(k.operand, nil)
		defer op.Release()
		opValid = validOrOnes(op)
	}
	pending := activeMask(s, n)
	pick := make([]int32, n)
	for i := range pick {
		pick[i] = pickNone
	}
	for _, w := range k.whens {
		c := rn.eval(w.cond, pending)
		cValid := validOrOnes(c)
		var hit []byte
		if k.operand != nil {
			if w.dom == domNull {
				hit = make([]byte, nb)
			} else {
				eq, ok := cmpArrays(opEq, w.dom, w.scale, op, k.opType, false, c, w.condType, false, n)
				if !ok {
					c.Release()
					return k.rk.run(ctx, b, s)
				}
				hit = eq
				for i := range hit {
					hit[i] &= opValid[i] & cValid[i]
				}
			}
		} else {
			hit = boolVals(c)
			hit = append([]byte(nil), hit...)
			for i := range hit {
				hit[i] &= cValid[i]
			}
		}
		c.Release()
		for i := range hit {
			hit[i] &= pending[i]
			pending[i] &^= hit[i]
		}
		r := rn.eval(w.result, hit)
		arrs = append(arrs, r)
		for i := 0; i < rn.s.n; i++ {
			if bitutil.BitIsSet(hit, i) {
				pick[i] = int32(len(arrs) - 1)
			}
		}
	}
	if k.els != nil {
		r := rn.eval(k.els, pending)
		arrs = append(arrs, r)
		for i := 0; i < rn.s.n; i++ {
			if bitutil.BitIsSet(pending, i) {
				pick[i] = int32(len(arrs) - 1)
			}
		}
	}
	return gather(k.at, arrs, pick), rn.fail
}
