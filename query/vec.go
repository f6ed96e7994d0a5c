package query

import (
	"context"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/siltdb/silt/types"
)

// Vectorized evaluation: a bound expression (bexpr) compiled to work on a
// whole Arrow record batch at once. Column references (colB) index the
// batch's columns as they index a row. Expressions with a kernel never
// touch types.Value; the rest fall back to rowVec, which evaluates the
// bound expression row by row over the batch, so every expression the
// row engine accepts also runs here, with the same results and errors.

// vecExpr is an expression compiled for batches.
type vecExpr interface {
	// eval returns the value of the expression for every row of b, as
	// an array of length b.NumRows() whose Arrow type is
	// types.ArrowType of the bound expression's Type(). A condition's
	// result is an *array.Boolean; its NULLs are SQL's unknown. The
	// caller releases the array.
	eval(ctx context.Context, b arrow.Record) (arrow.Array, error)
}

// compileVec compiles e for batches. It never fails: a node without a
// kernel is evaluated row by row (see rowKern), and so is an expression
// without an Arrow type (the untyped NULL), which rowVec rejects.
func compileVec(e bexpr) vecExpr {
	if _, err := types.ArrowType(e.Type()); err != nil {
		return &rowVec{e: e}
	}
	k := compileKern(e)
	if _, ok := k.(*rowKern); ok {
		return &rowVec{e: e}
	}
	return &vecTop{k: k}
}

// rowVec evaluates a bound expression row by row: the fallback for
// expressions without a kernel, and the reference kernels are tested
// against.
type rowVec struct{ e bexpr }

func (v *rowVec) eval(ctx context.Context, b arrow.Record) (arrow.Array, error) {
	at, err := types.ArrowType(v.e.Type())
	if err != nil {
		return nil, err
	}
	bld := array.NewBuilder(memory.DefaultAllocator, at)
	defer bld.Release()
	n := int(b.NumRows())
	bld.Reserve(n)
	row := make(types.Row, b.NumCols())
	for r := 0; r < n; r++ {
		if r%rowsPerCtxCheck == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		for c := range row {
			row[c] = types.ValueAt(b.Column(c), r)
		}
		x, err := v.e.Eval(row)
		if err != nil {
			return nil, err
		}
		if err := types.AppendValue(bld, x); err != nil {
			return nil, err
		}
	}
	return bld.NewArray(), nil
}

// rowsPerCtxCheck is how many rows a row-by-row loop evaluates between
// checks of its context.
const rowsPerCtxCheck = 4096
