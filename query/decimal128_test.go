package query

import (
	"context"
	"fmt"
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/siltdb/silt/internal/duckdbtest"
	"github.com/siltdb/silt/internal/testkit"
	"github.com/siltdb/silt/types"
)

const dec128DDL = `CREATE TABLE dm (id INT PRIMARY KEY, k DECIMAL(38,10), a DECIMAL(30,2), b DECIMAL(10,2), g DECIMAL(20,0))`

const dec128Rows = `INSERT INTO dm VALUES
 (1, 1234567890123456789012345678.0123456789, 9999999999999999999999999999.99, 12345678.90, 1),
 (2, -1234567890123456789012345678.0123456789, -0.01, -0.50, 1),
 (3, 0.0000000001, 123456789012345678901234.56, 99999999.99, 22222222222222222222),
 (4, NULL, NULL, NULL, NULL),
 (5, 42, 42.42, 42.42, 22222222222222222222),
 (6, -999999999999999999999999999.9999999999, 1.00, 0.01, -3)`

var dec128Queries = []string{
	`SELECT id, k, a, b, g FROM dm ORDER BY id`,
	`SELECT id, a + b, a - b, b * 2, a * b, k + k, -a, a % b FROM dm WHERE id NOT IN (1, 2) ORDER BY id`,
	`SELECT id FROM dm WHERE a > b ORDER BY id`,
	`SELECT id FROM dm WHERE k < 0 OR a = 42.42 ORDER BY id`,
	`SELECT id FROM dm ORDER BY a DESC NULLS LAST, id`,
	`SELECT SUM(k), SUM(a), SUM(b), MIN(k), MAX(k), MIN(a), MAX(a), COUNT(DISTINCT g) FROM dm`,
	`SELECT g, SUM(a), MAX(k), COUNT(*) FROM dm GROUP BY g ORDER BY g NULLS FIRST`,
	`SELECT CAST(a AS VARCHAR), CAST(b AS DECIMAL(38,5)), CAST(a AS DOUBLE) FROM dm WHERE id IN (3, 5, 6) ORDER BY id`,
	`SELECT CAST(g AS BIGINT), CAST(g AS INT) FROM dm WHERE id IN (1, 6) ORDER BY id`,
	`SELECT CAST('123456789012345678901234567.891' AS DECIMAL(38,3)), 12345678901234567890.5, CAST(b AS DECIMAL(25,2)) * 1000000000000 FROM dm WHERE id = 1`,
	`SELECT ROUND(k, 2), ROUND(a, -3), FLOOR(k), CEIL(k) FROM dm WHERE id IN (1, 2, 3) ORDER BY id`,
}

// TestDecimal128DuckDB runs SQL on DECIMAL columns of up to 38 digits in
// silt (pipeline and row path) and DuckDB: the same values.
func TestDecimal128DuckDB(t *testing.T) {
	db := duckdbtest.Open(t)
	e, _ := newTestEngine(t)
	mustExec(t, e, dec128DDL)
	mustExec(t, e, dec128Rows)
	rowE, _ := newTestEngine(t)
	rowE.rowEngine = true
	mustExec(t, rowE, dec128DDL)
	mustExec(t, rowE, dec128Rows)
	duckDDL := strings.Replace(dec128DDL, "id INT PRIMARY KEY", "id INT", 1)
	want := db.Run(t, []string{duckDDL, dec128Rows}, dec128Queries)
	checkPipelineRowDuckDB(t, e, rowE, dec128Queries, want)
}

// TestDecimalMulWidens: DECIMAL(18,2) * DECIMAL(18,2) is DECIMAL(36,4),
// so the product of two 16-digit amounts is exact (it overflowed
// DECIMAL(18,4) before 128-bit DECIMALs).
func TestDecimalMulWidens(t *testing.T) {
	for _, rowEngine := range []bool{false, true} {
		e, _ := newTestEngine(t)
		e.rowEngine = rowEngine
		mustExec(t, e, `CREATE TABLE m (id INT PRIMARY KEY, d DECIMAL(18,2))`)
		mustExec(t, e, `INSERT INTO m VALUES (1, 9999999999999999.99), (2, -1234567890123456.78)`)
		res := mustExec(t, e, `SELECT d * d, SUM(d * d) OVER (), d + d FROM m ORDER BY id`)
		r := res[len(res)-1]
		if got := r.Columns[0].Type.String(); got != "DECIMAL(36,4)" {
			t.Fatalf("d * d is %s, want DECIMAL(36,4)", got)
		}
		want := "99999999999999999800000000000000.0001|101524157875323883452796829976527.9685|19999999999999999.98\n" +
			"1524157875323883652796829976527.9684|101524157875323883452796829976527.9685|-2469135780246913.56\n"
		if got := rowsText(r); got != want {
			t.Fatalf("rowEngine=%v:\n got %s\nwant %s", rowEngine, got, want)
		}
	}
}

// TestDecimal128Overflow: a result beyond 38 digits is an error naming
// the expression and the type, in both engines.
func TestDecimal128Overflow(t *testing.T) {
	for _, rowEngine := range []bool{false, true} {
		e, _ := newTestEngine(t)
		e.rowEngine = rowEngine
		mustExec(t, e, `CREATE TABLE o (id INT PRIMARY KEY, d DECIMAL(38,0))`)
		mustExec(t, e, `INSERT INTO o VALUES (1, 99999999999999999999999999999999999999), (2, 2)`)
		for _, q := range []string{`SELECT d + d FROM o`, `SELECT d * d FROM o`, `SELECT SUM(d) FROM o`} {
			_, err := e.Exec(context.Background(), q)
			if err == nil || !strings.Contains(err.Error(), "DECIMAL overflow") || !strings.Contains(err.Error(), "DECIMAL(38,0)") {
				t.Fatalf("rowEngine=%v %s: %v, want a DECIMAL overflow error naming DECIMAL(38,0)", rowEngine, q, err)
			}
		}
	}
}

// TestDecimal128ArithRandom checks + - * / % of DECIMAL columns of random
// precisions (up to 38) against math/big, through both engines: an exact
// value, or an overflow error exactly when a row's result does not fit
// the result type.
func TestDecimal128ArithRandom(t *testing.T) {
	seed := testkit.Seed(t)
	rng := rand.New(rand.NewPCG(seed, 7))
	exact, overflows := 0, 0
	defer func() { t.Logf("%d exact results, %d overflows checked", exact, overflows) }()
	for round := range 6 {
		ta := randDecType(rng)
		tb := randDecType(rng)
		var vals [][2]*big.Int
		var ins strings.Builder
		ins.WriteString("INSERT INTO r VALUES ")
		for i := range 40 {
			a, b := randDecBig(rng, ta), randDecBig(rng, tb)
			if b.Sign() == 0 {
				b = big.NewInt(1)
			}
			vals = append(vals, [2]*big.Int{a, b})
			if i > 0 {
				ins.WriteString(", ")
			}
			fmt.Fprintf(&ins, "(%d, %s, %s)", i, decText(a, ta.Scale), decText(b, tb.Scale))
		}
		for _, rowEngine := range []bool{false, true} {
			e, _ := newTestEngine(t)
			e.rowEngine = rowEngine
			mustExec(t, e, fmt.Sprintf("CREATE TABLE r (id INT PRIMARY KEY, a %s, b %s)", ta, tb))
			mustExec(t, e, ins.String())
			for _, op := range []string{"+", "-", "*", "/", "%"} {
				rt, _ := arithType(op, ta, tb)
				q := fmt.Sprintf("SELECT a %s b FROM r ORDER BY id", op)
				res, err := e.Exec(context.Background(), q)
				overflow := ""
				var want []string
				for _, v := range vals {
					z := bigDecOp(op, v[0], ta.Scale, v[1], tb.Scale, rt.Scale)
					if new(big.Int).Abs(z).Cmp(pow10(rt.Precision)) >= 0 && overflow == "" {
						overflow = decText(z, rt.Scale)
					}
					want = append(want, decText(z, rt.Scale))
				}
				ctx := fmt.Sprintf("seed %d round %d rowEngine=%v: %s with a %s, b %s (result %s)", seed, round, rowEngine, q, ta, tb, rt)
				if overflow != "" {
					if err == nil || !strings.Contains(err.Error(), "DECIMAL overflow") {
						t.Fatalf("%s: %v, want an overflow (%s)", ctx, err, overflow)
					}
					overflows++
					continue
				}
				if err != nil {
					t.Fatalf("%s: %v", ctx, err)
				}
				r := res[len(res)-1]
				if !r.Columns[0].Type.Equal(rt) {
					t.Fatalf("%s: result type %s", ctx, r.Columns[0].Type)
				}
				for i, row := range r.Rows {
					if got := types.FormatValue(row[0], rt); got != want[i] {
						t.Fatalf("%s: row %d (%s %s %s) = %s, want %s", ctx, i, decText(vals[i][0], ta.Scale), op, decText(vals[i][1], tb.Scale), got, want[i])
					}
					exact++
				}
			}
		}
	}
}

func randDecType(rng *rand.Rand) types.DataType {
	p := 1 + rng.IntN(38)
	if rng.IntN(2) == 0 {
		p = 19 + rng.IntN(20)
	}
	return types.TDecimal(p, rng.IntN(p+1))
}

// randDecBig is an unscaled value of t, often at its edge.
func randDecBig(rng *rand.Rand, t types.DataType) *big.Int {
	var v *big.Int
	if rng.IntN(6) == 0 {
		v = new(big.Int).Sub(pow10(t.Precision), big.NewInt(1))
	} else {
		digits := make([]byte, 1+rng.IntN(t.Precision))
		for i := range digits {
			digits[i] = byte('0' + rng.IntN(10))
		}
		v, _ = new(big.Int).SetString(string(digits), 10)
	}
	if rng.IntN(2) == 0 {
		v.Neg(v)
	}
	return v
}

func decText(x *big.Int, scale int) string {
	v, ok := fitsDecimal(x, 38)
	if !ok {
		return "overflow"
	}
	if d, ok := v.(types.Decimal128); ok {
		return types.FormatDecimal128(d, scale)
	}
	return types.FormatDecimal(int64(v.(types.Decimal)), scale)
}

// bigDecOp is x/10^sx op y/10^sy at scale s, computed on rationals and
// rounded half away from zero.
func bigDecOp(op string, x *big.Int, sx int, y *big.Int, sy, s int) *big.Int {
	a := new(big.Rat).SetFrac(x, pow10(sx))
	b := new(big.Rat).SetFrac(y, pow10(sy))
	var z *big.Rat
	switch op {
	case "+":
		z = new(big.Rat).Add(a, b)
	case "-":
		z = new(big.Rat).Sub(a, b)
	case "*":
		z = new(big.Rat).Mul(a, b)
	case "/":
		z = new(big.Rat).Quo(a, b)
	case "%": // truncated remainder: a - trunc(a/b)*b
		q := new(big.Rat).Quo(a, b)
		tq := new(big.Int).Quo(q.Num(), q.Denom())
		z = new(big.Rat).Sub(a, new(big.Rat).Mul(new(big.Rat).SetInt(tq), b))
	}
	z.Mul(z, new(big.Rat).SetInt(pow10(s)))
	num, den := z.Num(), z.Denom()
	q, r := new(big.Int).QuoRem(num, den, new(big.Int))
	if new(big.Int).Lsh(new(big.Int).Abs(r), 1).Cmp(den) >= 0 {
		if num.Sign() < 0 {
			q.Sub(q, big.NewInt(1))
		} else {
			q.Add(q, big.NewInt(1))
		}
	}
	return q
}
