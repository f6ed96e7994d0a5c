package query

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/siltdb/silt/internal/testkit"
)

// TestVecJoinRandom is the differential test of the vectorized hash join:
// random tables with a column of every scalar type (and one with a nested
// column, which keeps its joins on rows), NULLs and duplicate keys, joined
// by every kind on keys of each type (and across types that convert),
// with residual conditions, USING, WHERE, three-way joins and aggregates
// on top; the vectorized engine must return what the row engine does.
// (TestJoinRandom checks both against a nested-loop oracle.)
func TestVecJoinRandom(t *testing.T) {
	n := 6
	if testing.Short() {
		n = 2
	}
	for _, seed := range testkit.Seeds(t, n) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			testkit.LogSeed(t, seed)
			runVecJoinRandom(t, seed)
		})
	}
}

// vjCol is a column of the random tables and literals of its values.
type vjCol struct {
	name, typ string
	vals      []string
}

var vjCols = []vjCol{
	{"bo", "BOOLEAN", []string{"TRUE", "FALSE"}},
	{"i", "INT", []string{"0", "1", "-7", "2147483647"}},
	{"bi", "BIGINT", []string{"0", "1", "-7", "9000000000"}},
	{"f", "FLOAT", []string{"CAST(0 AS FLOAT)", "CAST(1.5 AS FLOAT)", "CAST(-0.0 AS FLOAT)"}},
	{"db", "DOUBLE", []string{"0.0", "1.5", "-2.25", "-0.0"}},
	{"de", "DECIMAL(10,2)", []string{"1.25", "0.00", "-3.10"}},
	{"dl", "DECIMAL(30,5)", []string{"1.25", "0", "12345678901234567890.12345"}},
	{"s", "STRING", []string{"'a'", "'b'", "''", "'é'"}},
	{"bt", "BYTES", []string{"X'00'", "X'ff01'", "X''"}},
	{"d", "DATE", []string{"DATE '2024-01-01'", "DATE '1969-12-31'", "DATE '2024-01-02'"}},
	{"ts", "TIMESTAMP", []string{"TIMESTAMP '2024-01-01 00:00:00'", "TIMESTAMP '2024-01-01 00:00:00.000001'", "TIMESTAMP '1969-12-31 23:59:59'"}},
	{"tz", "TIMESTAMPTZ", []string{"TIMESTAMPTZ '2024-01-01 00:00:00+00'", "TIMESTAMPTZ '2024-01-01 01:00:00+01'", "TIMESTAMPTZ '2024-06-01 00:00:00+00'"}},
	{"tm", "TIME", []string{"TIME '00:00:00'", "TIME '12:34:56.5'", "TIME '23:59:59.999999'"}},
	{"u", "UUID", []string{"UUID '00000000-0000-0000-0000-000000000001'", "UUID 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'"}},
}

// vjCross are key pairs of different types that join in a common type.
var vjCross = [][2]string{{"i", "bi"}, {"bi", "i"}, {"de", "dl"}, {"f", "db"}, {"i", "de"}, {"d", "ts"}, {"i", "db"}}

func vjTable(rng *rand.Rand, name string, n int, nested bool) string {
	var defs []string
	defs = append(defs, "id BIGINT PRIMARY KEY")
	for _, c := range vjCols {
		defs = append(defs, c.name+" "+c.typ)
	}
	if nested {
		defs = append(defs, "arr ARRAY<INT>")
	}
	sql := "CREATE TABLE " + name + " (" + strings.Join(defs, ", ") + ")"
	if n == 0 {
		return sql
	}
	var rows []string
	for i := range n {
		vals := []string{fmt.Sprint(i + 1)}
		for _, c := range vjCols {
			v := "NULL"
			if rng.IntN(5) != 0 {
				v = c.vals[rng.IntN(len(c.vals))]
			}
			vals = append(vals, v)
		}
		if nested {
			vals = append(vals, []string{"NULL", "[1, 2]", "[]", "[NULL]"}[rng.IntN(4)])
		}
		rows = append(rows, "("+strings.Join(vals, ", ")+")")
	}
	return sql + "; INSERT INTO " + name + " VALUES " + strings.Join(rows, ", ")
}

func runVecJoinRandom(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 23))
	e, _ := siltEngine(t)
	mustExec(t, e, vjTable(rng, "a", rng.IntN(30), false))
	mustExec(t, e, vjTable(rng, "b", rng.IntN(30), false))
	mustExec(t, e, vjTable(rng, "c", rng.IntN(10), false))
	mustExec(t, e, vjTable(rng, "n", rng.IntN(10), true))
	kinds := []string{"JOIN", "LEFT JOIN", "RIGHT JOIN", "FULL JOIN", "CROSS JOIN"}
	col := func() string { return vjCols[rng.IntN(len(vjCols))].name }
	cond := func(l, r string) string {
		var k1, k2 string
		if rng.IntN(4) == 0 {
			p := vjCross[rng.IntN(len(vjCross))]
			k1, k2 = p[0], p[1]
		} else {
			k1 = col()
			k2 = k1
		}
		out := l + "." + k1 + " = " + r + "." + k2
		if rng.IntN(8) == 0 {
			out = "lower(" + l + ".s) = upper(" + r + ".s)"
		}
		switch rng.IntN(6) {
		case 0:
			c := col()
			out += " AND " + l + "." + c + " = " + r + "." + c
		case 1:
			out += " AND " + l + ".i < " + r + ".bi"
		case 2:
			out += " AND " + r + ".s IS NOT NULL"
		case 3:
			out += " AND length(" + l + ".s) <= length(" + r + ".s)"
		}
		return out
	}
	for range 40 {
		kind := kinds[rng.IntN(len(kinds))]
		right := []string{"b", "b", "b", "n"}[rng.IntN(4)]
		from := "a " + kind + " " + right
		using := ""
		switch {
		case kind == "CROSS JOIN":
		case rng.IntN(6) == 0:
			using = col()
			from += " USING (" + using + ")"
		case rng.IntN(8) == 0:
			from += " ON a.i < " + right + ".i" // no key: every pair
		default:
			from += " ON " + cond("a", right)
		}
		if rng.IntN(3) == 0 {
			from += " " + kinds[rng.IntN(4)] + " c ON " + cond("a", "c")
		}
		var sql string
		switch rng.IntN(4) {
		case 0:
			sql = "SELECT * FROM " + from
		case 1:
			sql = "SELECT COUNT(*), COUNT(" + right + ".id), SUM(a.i), MIN(a.s) FROM " + from
		case 2:
			c := col()
			sql = "SELECT a.id, " + right + ".id, a." + c + ", " + right + "." + c + " FROM " + from + " ORDER BY a.id, " + right + ".id LIMIT 7"
		default:
			sql = "SELECT a.id, " + right + ".id FROM " + from
		}
		if using != "" && strings.HasPrefix(sql, "SELECT a.id") {
			sql = strings.Replace(sql, "SELECT a.id,", "SELECT a.id, "+using+",", 1)
		}
		if rng.IntN(2) == 0 {
			w := []string{"a.bi > 0", right + ".s = 'a'", "a.d IS NULL", right + ".id IS NULL", "a.f <> 1.5",
				"length(a.s) > 0", "upper(" + right + ".s) = 'B'", "a.i % 2 = 0", "coalesce(a.s, 'x') <> 'b'", "a.id / (a.i + 7) >= 0",
				right + ".id IN (SELECT id FROM a)", "a.id NOT IN (SELECT id + 3 FROM b)"}[rng.IntN(12)]
			if i := strings.Index(sql, " ORDER BY"); i >= 0 {
				sql = sql[:i] + " WHERE " + w + sql[i:]
			} else {
				sql += " WHERE " + w
			}
		}
		var got [2][]string
		var errs [2]error
		for i, rowEngine := range []bool{false, true} {
			e.rowEngine = rowEngine
			res, err := e.ExecStatement(context.Background(), sql)
			errs[i] = err
			if err == nil {
				got[i] = siltRows(res)
				if !strings.Contains(sql, "ORDER BY") {
					slices.Sort(got[i])
				}
			}
		}
		e.rowEngine = false
		if (errs[0] == nil) != (errs[1] == nil) {
			t.Fatalf("%s:\n vectorized error %v\n row error %v", sql, errs[0], errs[1])
		}
		if !slices.Equal(got[0], got[1]) {
			t.Fatalf("%s:\n vectorized %q\n rows       %q", sql, got[0], got[1])
		}
	}
}
