package query

import (
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
)

// FuzzVecExpr binds an expression from the input over the test columns
// and checks that its kernels agree with rowVec on a fixed batch (and on
// a slice of it, whose arrays have offsets): same values, NULLs and
// errors, and no panic.
func FuzzVecExpr(f *testing.F) {
	for _, s := range []string{
		"i + 1 > l", "m * m2 <> g", "s LIKE 'a%' AND NOT b", "y IN (X'61', NULL)", "CAST(s AS INT) / i",
		"COALESCE(i, l, 7) % 3", "CASE i WHEN 1 THEN 'x' WHEN l THEN s ELSE NULL END", "d BETWEEN t AND t2",
		"f = g OR f IS NULL", "-m3 - 99999999999999999.9", "CAST(g AS DECIMAL(5,2))", "s || CAST(d AS STRING) <= s2",
		"CASE WHEN i > 0 THEN 1 / i END", "CAST(t AS DATE) = d2", "l * 2147483648 IN (i, l2)", "NULL", "NULL IS NULL",
		"w * w4 / w2 > w3", "CAST(w AS BIGINT) + CAST(s AS DECIMAL(38,10))", "w IN (1, w2, 99999999999999999999999999999999999999)",
		"w3 % m2 - -w", "CAST(w2 AS DOUBLE) < g", "na[i] = nr.x AND nm['a'] > CARDINALITY(na2)", "na < na2 OR nr = nr2", "nw[-1] * 2",
	} {
		f.Add(s)
	}
	sc, as := vecSchema(f)
	r := rand.New(rand.NewPCG(11, 12))
	whole := vecBatch(f, r, as, 24)
	part := whole.NewSlice(5, 21)
	f.Fuzz(func(t *testing.T, src string) {
		if len(src) > maxFuzzInput {
			return
		}
		e, err := bindVecExpr(sc, src)
		if err != nil {
			return
		}
		for _, rec := range []arrow.Record{whole, part} {
			if d := vecDiff(e, rec); d != "" {
				t.Fatalf("%s: %s\nbatch:\n%s", src, d, dumpBatch(rec))
			}
		}
	})
}
