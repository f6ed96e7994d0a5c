package query

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/siltdb/silt/internal/testkit"
	"github.com/siltdb/silt/types"
)

// vecRowType is the ROW type of the test batches' ROW columns.
var vecRowType = types.TStruct(types.Field{Name: "x", Type: types.TInt}, types.Field{Name: "y", Type: types.TString})

// vecNestedValue is a random ARRAY, MAP or ROW value of type t: short,
// often empty, with NULL elements and duplicates, so that comparisons
// meet equal prefixes and lengths.
func vecNestedValue(r *rand.Rand, t types.DataType) types.Value {
	switch t.Kind {
	case types.ArrayKind:
		out := types.List{}
		for j := r.IntN(4); j > 0; j-- {
			out = append(out, vecValue(r, t.Elem()))
		}
		return out
	case types.MapKind:
		out := types.Map{}
		for _, k := range []string{"a", "b", "c"} {
			if r.IntN(2) == 0 {
				out = append(out, types.MapEntry{Key: k, Value: vecValue(r, t.Value())})
			}
		}
		return out
	case types.StructKind:
		out := make(types.Struct, len(t.Fields))
		for i, f := range t.Fields {
			if f.Type.Kind == types.String {
				out[i] = []string{"p", "q", ""}[r.IntN(3)]
				continue
			}
			out[i] = vecValue(r, f.Type)
		}
		return out
	}
	panic("no values of " + t.String())
}

// TestVecNestedKernels: element and field access, CARDINALITY and
// comparisons of ARRAY, MAP and ROW values run as kernels over the Arrow
// arrays (no row by row sub-expression) and agree with the row engine.
func TestVecNestedKernels(t *testing.T) {
	seed := testkit.Seed(t)
	r := rand.New(rand.NewPCG(seed, 14))
	sc, as := vecSchema(t)
	for _, src := range []string{
		"na[1]", "na[i]", "na[-1]", "na[l]", "na[NULL]", "nw[2]", "nm['a']", "nm['zz']", "nm[s]", "nr.x", "nr.y", "nr['y']",
		"CARDINALITY(na)", "CARDINALITY(nm)", "CARDINALITY(nw)", "(na = na2)", "(na <> na2)", "(na < na2)", "(nr = nr2)",
		"(nr > nr2)", "(nm = nm)", "(nw = nw)", "(na[1] + nr.x > CARDINALITY(na2))", "(nr.y LIKE 'p%')",
		"(na = [1, 2])", "(nr = {'x': i, 'y': s})", // constructors run row by row
	} {
		e, err := bindVecExpr(sc, src)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		top, ok := compileVec(e).(*vecTop)
		if !ok {
			t.Fatalf("%s: no kernel", src)
		}
		if _, rows := kernNodes(top.k); rows != 0 && !strings.Contains(src, "[1") && !strings.Contains(src, "{") {
			t.Errorf("%s: %d sub-expressions run row by row", src, rows)
		}
		for j := 0; j < 30; j++ {
			rec := vecBatch(t, r, as, []int{1, 7, 64, 200}[r.IntN(4)])
			if d := vecDiff(e, rec); d != "" {
				t.Fatalf("seed %d: %s: %s\nbatch:\n%s", seed, src, d, dumpBatch(rec))
			}
			rec.Release()
		}
	}
}

// TestVecFilterKeepsNestedValues: a WHERE that drops rows keeps the ARRAY,
// MAP and ROW values of the rows left exactly (BIGINTs beyond 2^53
// included), as the row path does.
func TestVecFilterKeepsNestedValues(t *testing.T) {
	e, _ := siltEngine(t)
	mustExec(t, e, `CREATE TABLE o (id BIGINT PRIMARY KEY, m MAP<STRING, BIGINT>, a ARRAY<BIGINT>, r ROW<x BIGINT, w DECIMAL(38,0)>)`)
	mustExec(t, e, `INSERT INTO o VALUES (1, MAP {'a': -1}, [-1], {'x': 1, 'w': 1}),
		(2, MAP {'b': 9223372036854775807, 'c': 5}, [9223372036854775807, 9007199254740993], {'x': -9223372036854775807, 'w': 99999999999999999999999999999999999999}),
		(3, MAP {}, [], NULL)`)
	ctx := context.Background()
	for _, sql := range []string{"SELECT * FROM o WHERE id <> 1", "SELECT m, a, r FROM o WHERE id > 1 ORDER BY id DESC LIMIT 2"} {
		e.rowEngine = true
		want, werr := e.ExecStatement(ctx, sql)
		e.rowEngine = false
		got, gerr := e.ExecStatement(ctx, sql)
		if w, g := resultText(want, werr), resultText(got, gerr); w != g {
			t.Fatalf("%s\nrow path:\n%s\nvectorized:\n%s", sql, w, g)
		}
	}
}
