package query

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	"github.com/siltdb/silt/types"
)

// fnExpr is a random call of a function of functions_*.go returning kind
// k, for the differential test of the kernels (TestVecKernelsMatchRowEngine).
func (g vecGen) fnExpr(k byte, sub func(byte) string) string {
	small := func() string { return g.pick("-3", "-1", "0", "1", "2", "5", "100", sub('n')) }
	switch k {
	case 'n':
		switch g.r.IntN(12) {
		case 0:
			return "ROUND(" + sub('n') + g.pick("", ", 1", ", -1", ", 0", ", 3") + ")"
		case 1:
			return g.pick("FLOOR(", "CEIL(") + sub('n') + ")"
		case 2:
			return "POWER(" + sub('n') + ", " + small() + ")"
		case 3:
			return "SQRT(" + sub('n') + ")"
		case 4:
			return "MOD(" + sub('n') + ", " + sub('n') + ")"
		case 5:
			return "NULLIF(" + sub('n') + ", " + sub('n') + ")"
		case 6:
			return g.pick("GREATEST(", "LEAST(", "IFNULL(") + sub('n') + ", " + sub('n') + ")"
		case 7:
			return "STRPOS(" + sub('s') + ", " + sub('s') + ")"
		case 8:
			return "EXTRACT(" + g.pick("YEAR", "MONTH", "DAY", "HOUR", "SECOND", "MICROSECOND", "EPOCH", "DOW", "WEEK", "QUARTER", "DOY") + " FROM " + sub('d') + ")"
		case 9:
			return "DATE_DIFF(" + g.pick("'day'", "'month'", "'year'", "'hour'", "'week'", "'second'") + ", " + sub('d') + ", " + sub('d') + ")"
		case 10:
			return g.pick("YEAR(", "MONTH(", "DAY(") + sub('d') + ")"
		}
		return "ROUND(" + sub('n') + ")"
	case 's':
		switch g.r.IntN(11) {
		case 0:
			return "SUBSTRING(" + sub('s') + ", " + small() + g.pick("", ", "+small()) + ")"
		case 1:
			return g.pick("TRIM(", "LTRIM(", "RTRIM(") + sub('s') + g.pick("", ", 'a'", ", "+sub('s')) + ")"
		case 2:
			return "REPLACE(" + sub('s') + ", " + sub('s') + ", " + sub('s') + ")"
		case 3:
			return "CONCAT(" + sub('s') + ", " + sub('n') + ", " + sub('s') + ")"
		case 4:
			return g.pick("LEFT(", "RIGHT(") + sub('s') + ", " + small() + ")"
		case 5:
			return "SPLIT_PART(" + sub('s') + ", " + g.pick("'a'", "''", "'%'", sub('s')) + ", " + small() + ")"
		case 6:
			return g.pick("LPAD(", "RPAD(") + sub('s') + ", " + g.pick("0", "3", "7", "-1") + ", " + g.pick("'*'", "''", "'ab'", sub('s')) + ")"
		case 7:
			return "STRFTIME(" + sub('d') + ", " + g.pick("'%Y-%m-%d'", "'%H:%M:%S.%f'", "'%a %b %-d %j'") + ")"
		case 8:
			return "TO_CHAR(" + sub('d') + ", " + g.pick("'YYYY-MM-DD'", "'HH24:MI:SS'", "'Dy Mon DD'") + ")"
		case 9:
			return "NULLIF(" + sub('s') + ", " + sub('s') + ")"
		}
		return g.pick("GREATEST(", "LEAST(") + sub('s') + ", " + sub('s') + ")"
	case 'b':
		switch g.r.IntN(3) {
		case 0:
			return "STARTS_WITH(" + sub('s') + ", " + sub('s') + ")"
		case 1:
			return "REGEXP_MATCHES(" + sub('s') + ", " + g.pick("'^a'", "'b+'", "'(a|é)$'", "'['", sub('s')) + g.pick("", ", 'i'") + ")"
		}
		return fmt.Sprintf("(%s = %s)", g.fnExpr('n', sub), sub('n'))
	case 'd':
		switch g.r.IntN(5) {
		case 0:
			return "DATE_TRUNC(" + g.pick("'year'", "'month'", "'week'", "'day'", "'hour'", "'second'") + ", " + sub('d') + ")"
		case 1:
			return "(" + sub('d') + g.pick(" + ", " - ") + g.pick("INTERVAL 1 DAY", "INTERVAL '1 month'", "INTERVAL '-2 hours'", "INTERVAL 100000 YEAR") + ")"
		case 2:
			return "DATE_ADD(" + sub('d') + ", INTERVAL " + g.pick("'3 weeks'", "'1 year 2 months'", "30 SECOND") + ")"
		case 3:
			return "(CAST(" + sub('d') + " AS DATE) " + g.pick("+", "-") + " " + small() + ")"
		}
		return g.pick("GREATEST(", "LEAST(") + sub('d') + ", " + sub('d') + ")"
	}
	return "NULLIF(" + sub('y') + ", " + sub('y') + ")"
}

// BenchmarkVecFnKernels compares the typed kernels of functions_*.go with
// funcK (arguments as kernels, the function called on boxed values) and
// rowVec, in rows per CPU-second:
//
//	go test ./query -run '^$' -bench VecFnKernels -benchtime 2000x
func BenchmarkVecFnKernels(b *testing.B) {
	sc, as := vecSchema(b)
	const n = 4096
	rec := benchBatch(b, as, n)
	defer rec.Release()
	for _, src := range []string{
		"TRIM(s, 'a')", "SUBSTRING(s, 2, 3)", "STARTS_WITH(s, 'ca')", "STRPOS(s, 'o')", "EXTRACT(YEAR FROM t)",
		"DATE_TRUNC('month', d)", "ROUND(g, 1)", "FLOOR(g)", "NULLIF(i, 5)", "CONCAT(s, '-', s2)",
	} {
		e, err := bindVecExpr(sc, src)
		if err != nil {
			b.Fatal(err)
		}
		impls := []struct {
			name string
			v    vecExpr
		}{{"kernel", compileVec(e)}, {"rowVec", &rowVec{e: e}}}
		if u, ok := e.(*unaryFnB); ok { // the same function as a funcB: what funcK makes of it
			fb := &funcB{args: []bexpr{u.x}, t: u.t}
			fb.fn = func(v []types.Value) (types.Value, error) {
				return (&unaryFnB{x: &constB{v: v[0], t: u.x.Type()}, t: u.t, s2s: u.s2s, s2b: u.s2b, s2i: u.s2i, f2f: u.f2f, u2i: u.u2i, u2f: u.u2f, u2u: u.u2u}).Eval(nil)
			}
			impls = append(impls, struct {
				name string
				v    vecExpr
			}{"funcK", compileVec(fb)})
		}
		for _, impl := range impls {
			b.Run(src+"/"+impl.name, func(b *testing.B) {
				ctx := context.Background()
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				cpu0 := threadCPU()
				for i := 0; i < b.N; i++ {
					a, err := impl.v.eval(ctx, rec)
					if err != nil {
						b.Fatal(err)
					}
					a.Release()
				}
				if cpu := threadCPU() - cpu0; cpu > 0 {
					b.ReportMetric(float64(n)*float64(b.N)/cpu.Seconds(), "rows/cpu-s")
				}
			})
		}
	}
}
