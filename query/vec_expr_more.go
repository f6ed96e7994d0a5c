package query

import (
	"unsafe"

	"github.com/siltdb/silt/types"
)

// unsafeString views b as a string; b must not change while it is used.
func unsafeString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// compileMore compiles the nodes beyond comparisons and logic; nil when
// e has no kernel.
func compileMore(e bexpr) kern {
	switch x := e.(type) {
	case *arithB:
		if k := newArithK(x); k != nil {
			return k
		}
	case *negB:
		if t := x.x.Type(); isNumeric(t.Kind) {
			at, err := types.ArrowType(t)
			if err == nil {
				return &negK{e: x, x: compileKern(x.x), at: at}
			}
		}
	case *castB:
		return newCastK(x)
	case *inB:
		return newInK(x)
	case *likeB:
		return newLikeK(x)
	case *coalesceB:
		if at, err := types.ArrowType(x.t); err == nil {
			k := &coalesceK{at: at}
			for _, a := range x.args {
				k.args = append(k.args, compileKern(a))
			}
			return k
		}
	case *caseB:
		if k := newCaseK(x); k != nil {
			return k
		}
	case *concatB:
		if x.l.Type().Kind == types.String && x.r.Type().Kind == types.String {
			return &concatK{l: compileKern(x.l), r: compileKern(x.r)}
		}
	}
	return nil
}
