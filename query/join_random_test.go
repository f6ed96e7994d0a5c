package query

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/siltdb/silt/internal/testkit"
)

// TestJoinRandom checks joins on random tables against a nested-loop
// oracle: every kind, hashable and non-hashable ON conditions, USING, and
// keys of different integer types, with NULLs and duplicates.
func TestJoinRandom(t *testing.T) {
	n := 8
	if testing.Short() {
		n = 2
	}
	for _, seed := range testkit.Seeds(t, n) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			testkit.LogSeed(t, seed)
			runJoinRandom(t, seed)
		})
	}
}

// jrow is a row of l (k INT) or r (k BIGINT): id, then k, v, x (nil =
// NULL).
type jrow struct {
	id   int64
	k, x *int64
	v    *string
}

// tri is a three-valued truth: 1 TRUE, 0 FALSE, -1 NULL.
type tri int

func and3(a, b tri) tri {
	switch {
	case a == 0 || b == 0:
		return 0
	case a < 0 || b < 0:
		return -1
	}
	return 1
}

func or3(a, b tri) tri {
	switch {
	case a == 1 || b == 1:
		return 1
	case a < 0 || b < 0:
		return -1
	}
	return 0
}

func cmpInt(a, b *int64, f func(x, y int64) bool) tri {
	if a == nil || b == nil {
		return -1
	}
	if f(*a, *b) {
		return 1
	}
	return 0
}

func eqStr(a, b *string) tri {
	if a == nil || b == nil {
		return -1
	}
	if *a == *b {
		return 1
	}
	return 0
}

func eq(x, y int64) bool { return x == y }
func lt(x, y int64) bool { return x < y }
func ne(x, y int64) bool { return x != y }

type joinCond struct {
	sql  string
	eval func(l, r jrow) tri
}

var joinConds = []joinCond{
	{"l.k = r.k", func(l, r jrow) tri { return cmpInt(l.k, r.k, eq) }},
	{"r.k = l.k AND l.v = r.v", func(l, r jrow) tri { return and3(cmpInt(l.k, r.k, eq), eqStr(l.v, r.v)) }},
	{"l.k = r.k AND l.x < r.x", func(l, r jrow) tri { return and3(cmpInt(l.k, r.k, eq), cmpInt(l.x, r.x, lt)) }},
	{"l.x < r.x", func(l, r jrow) tri { return cmpInt(l.x, r.x, lt) }},
	{"l.k = r.k OR l.v = r.v", func(l, r jrow) tri { return or3(cmpInt(l.k, r.k, eq), eqStr(l.v, r.v)) }},
	{"l.k + 1 = r.k", func(l, r jrow) tri {
		if l.k == nil {
			return -1
		}
		k1 := *l.k + 1
		return cmpInt(&k1, r.k, eq)
	}},
	{"l.k = r.k AND r.x > 5", func(l, r jrow) tri {
		five := int64(5)
		return and3(cmpInt(l.k, r.k, eq), cmpInt(r.x, &five, func(x, y int64) bool { return x > y }))
	}},
	{"l.k = r.k AND l.x IS NULL", func(l, r jrow) tri {
		if l.x != nil {
			return 0
		}
		return cmpInt(l.k, r.k, eq)
	}},
	{"TRUE", func(l, r jrow) tri { return 1 }},
	{"l.v = r.v AND l.k <> r.k", func(l, r jrow) tri { return and3(eqStr(l.v, r.v), cmpInt(l.k, r.k, ne)) }},
	{"l.id = r.x AND l.k = r.k AND l.v = r.v", func(l, r jrow) tri {
		return and3(and3(cmpInt(&l.id, r.x, eq), cmpInt(l.k, r.k, eq)), eqStr(l.v, r.v))
	}},
}

// whereCond is a WHERE condition over the joined row (nil = the side
// is NULL-padded).
type whereCond struct {
	sql  string
	eval func(l, r *jrow) tri
}

func fieldX(p *jrow) *int64 {
	if p == nil {
		return nil
	}
	return p.x
}

func fieldV(p *jrow) *string {
	if p == nil {
		return nil
	}
	return p.v
}

func isNull(b bool) tri {
	if b {
		return 1
	}
	return 0
}

var whereConds = []whereCond{
	{"l.x > 3", func(l, r *jrow) tri {
		three := int64(3)
		return cmpInt(fieldX(l), &three, func(x, y int64) bool { return x > y })
	}},
	{"r.x IS NULL", func(l, r *jrow) tri { return isNull(fieldX(r) == nil) }},
	{"l.v = 'a'", func(l, r *jrow) tri { a := "a"; return eqStr(fieldV(l), &a) }},
	{"r.x = 2 AND l.x < 5", func(l, r *jrow) tri {
		two, five := int64(2), int64(5)
		return and3(cmpInt(fieldX(r), &two, eq), cmpInt(fieldX(l), &five, lt))
	}},
	{"l.x IS NOT NULL OR r.x IS NULL", func(l, r *jrow) tri { return or3(isNull(fieldX(l) != nil), isNull(fieldX(r) == nil)) }},
	{"l.x = 1 AND r.v = 'b' AND l.v = r.v", func(l, r *jrow) tri {
		one, b := int64(1), "b"
		return and3(and3(cmpInt(fieldX(l), &one, eq), eqStr(fieldV(r), &b)), eqStr(fieldV(l), fieldV(r)))
	}},
}

func randRows(rng *rand.Rand, n int) []jrow {
	opt := func(max int) *int64 {
		if rng.IntN(5) == 0 {
			return nil
		}
		v := int64(rng.IntN(max))
		return &v
	}
	var out []jrow
	for i := range n {
		r := jrow{id: int64(i + 1), k: opt(5), x: opt(10)}
		if rng.IntN(5) != 0 {
			s := string(rune('a' + rng.IntN(3)))
			r.v = &s
		}
		out = append(out, r)
	}
	return out
}

func sqlInt(p *int64) string {
	if p == nil {
		return "NULL"
	}
	return strconv.FormatInt(*p, 10)
}

func insertRows(table string, rows []jrow) string {
	if len(rows) == 0 {
		return ""
	}
	var parts []string
	for _, r := range rows {
		v := "NULL"
		if r.v != nil {
			v = "'" + *r.v + "'"
		}
		parts = append(parts, fmt.Sprintf("(%d, %s, %s, %s)", r.id, sqlInt(r.k), v, sqlInt(r.x)))
	}
	return "INSERT INTO " + table + " VALUES " + strings.Join(parts, ", ")
}

func runJoinRandom(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 11))
	e, _ := newTestEngine(t)
	mustExec(t, e, "CREATE TABLE l (id BIGINT PRIMARY KEY, k INT, v STRING, x INT); CREATE TABLE r (id BIGINT PRIMARY KEY, k BIGINT, v STRING, x BIGINT)")
	lrows, rrows := randRows(rng, rng.IntN(12)), randRows(rng, rng.IntN(12))
	for _, s := range []string{insertRows("l", lrows), insertRows("r", rrows)} {
		if s != "" {
			mustExec(t, e, s)
		}
	}
	kinds := []joinKind{joinInner, joinLeft, joinRight, joinFull, joinCross}
	for range 30 {
		kind := kinds[rng.IntN(len(kinds))]
		var cond joinCond
		using := kind != joinCross && rng.IntN(5) == 0
		sql := "SELECT l.id, r.id FROM l " + kind.String() + " r"
		switch {
		case using:
			sql = "SELECT l.id, r.id, k FROM l " + kind.String() + " r USING (k)"
			cond = joinConds[0]
		case kind == joinCross:
			cond = joinCond{"", func(jrow, jrow) tri { return 1 }}
		default:
			cond = joinConds[rng.IntN(len(joinConds))]
			sql += " ON " + cond.sql
		}
		where := whereCond{eval: func(*jrow, *jrow) tri { return 1 }}
		if rng.IntN(2) == 0 {
			where = whereConds[rng.IntN(len(whereConds))]
			sql += " WHERE " + where.sql
		}
		want := joinOracle(lrows, rrows, kind, cond, using, where)
		// The vectorized join and the row join both match the oracle.
		for _, rowEngine := range []bool{false, true} {
			e.rowEngine = rowEngine
			res, err := e.ExecStatement(context.Background(), sql)
			if err != nil {
				t.Fatalf("%s (row engine %v): %v", sql, rowEngine, err)
			}
			got := siltRows(res)
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Fatalf("%s (row engine %v):\n got  %q\n want %q\n l %s\n r %s", sql, rowEngine, got, want, insertRows("l", lrows), insertRows("r", rrows))
			}
		}
		e.rowEngine = false
	}
}

// joinOracle joins by a nested loop over every pair.
func joinOracle(ls, rs []jrow, kind joinKind, cond joinCond, using bool, where whereCond) []string {
	var out []string
	emit := func(l, r *jrow) {
		if where.eval(l, r) != 1 {
			return
		}
		id := func(x *jrow) string {
			if x == nil {
				return "NULL"
			}
			return strconv.FormatInt(x.id, 10)
		}
		row := id(l) + "|" + id(r)
		if using {
			k := "NULL"
			if l != nil && l.k != nil {
				k = sqlInt(l.k)
			} else if r != nil {
				k = sqlInt(r.k)
			}
			row += "|" + k
		}
		out = append(out, row)
	}
	matched := make([]bool, len(rs))
	for i := range ls {
		hit := false
		for j := range rs {
			if cond.eval(ls[i], rs[j]) == 1 {
				hit, matched[j] = true, true
				emit(&ls[i], &rs[j])
			}
		}
		if !hit && (kind == joinLeft || kind == joinFull) {
			emit(&ls[i], nil)
		}
	}
	if kind == joinRight || kind == joinFull {
		for j := range rs {
			if !matched[j] {
				emit(nil, &rs[j])
			}
		}
	}
	slices.Sort(out)
	return out
}
