package query

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/siltdb/silt/internal/testkit"
	"github.com/siltdb/silt/types"
)

// TestUnnestRandom checks UNNEST on random nested data (NULL and empty
// arrays and maps, NULL elements, NULL ROWs) against an oracle that
// expands the rows in Go: every join form, one to three zipped arguments
// of each kind, WITH ORDINALITY, ON conditions, WHERE pushed to the table,
// and unnest() in the select list.
func TestUnnestRandom(t *testing.T) {
	n := 8
	if testing.Short() {
		n = 2
	}
	for _, seed := range testkit.Seeds(t, n) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			testkit.LogSeed(t, seed)
			runUnnestRandom(t, seed)
		})
	}
}

// urow is a row of the random table: id, a INT[], b VARCHAR[], m
// MAP(VARCHAR, INT), r STRUCT(x INT, s VARCHAR)[] (nil = NULL).
type urow struct {
	id      int32
	a, b, r types.List
	m       types.Map
	nulls   [4]bool // a, b, m, r is NULL
}

func (u *urow) sql() string {
	lit := func(v types.Value) string {
		switch x := v.(type) {
		case nil:
			return "NULL"
		case int32:
			return strconv.Itoa(int(x))
		case string:
			return quoteString(x)
		}
		return "?"
	}
	list := func(l types.List, null bool, el func(types.Value) string) string {
		if null {
			return "NULL"
		}
		parts := make([]string, len(l))
		for i, v := range l {
			parts[i] = el(v)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	st := func(v types.Value) string {
		if v == nil {
			return "NULL"
		}
		s := v.(types.Struct)
		return "{'x': " + lit(s[0]) + ", 's': " + lit(s[1]) + "}"
	}
	m := "NULL"
	if !u.nulls[2] {
		var parts []string
		for _, e := range u.m {
			parts = append(parts, lit(e.Key)+": "+lit(e.Value))
		}
		m = "MAP {" + strings.Join(parts, ", ") + "}"
	}
	return fmt.Sprintf("(%d, %s, %s, %s, %s)", u.id, list(u.a, u.nulls[0], lit), list(u.b, u.nulls[1], lit), m, list(u.r, u.nulls[3], st))
}

func randURow(rng *rand.Rand, id int32) urow {
	u := urow{id: id}
	n := func() int { return rng.IntN(5) }
	maybe := func(v types.Value) types.Value {
		if rng.IntN(5) == 0 {
			return nil
		}
		return v
	}
	for i := range u.nulls {
		u.nulls[i] = rng.IntN(6) == 0
	}
	if !u.nulls[0] {
		u.a = types.List{}
		for range n() {
			u.a = append(u.a, maybe(int32(rng.IntN(7)-2)))
		}
	}
	if !u.nulls[1] {
		u.b = types.List{}
		for range n() {
			u.b = append(u.b, maybe(string(rune('a'+rng.IntN(4)))))
		}
	}
	if !u.nulls[2] {
		u.m = types.Map{}
		for _, k := range rng.Perm(5)[:n()] {
			u.m = append(u.m, types.MapEntry{Key: "k" + strconv.Itoa(k), Value: maybe(int32(rng.IntN(9)))})
		}
	}
	if !u.nulls[3] {
		u.r = types.List{}
		for range n() {
			u.r = append(u.r, maybe(types.Struct{maybe(int32(rng.IntN(5))), maybe(string(rune('p' + rng.IntN(3))))}))
		}
	}
	return u
}

// tuples is what the oracle makes of one argument for one row: a tuple
// of columns per element.
func (u *urow) tuples(arg string, flat bool) [][]types.Value {
	var out [][]types.Value
	switch arg {
	case "a", "b":
		l := u.a
		if arg == "b" {
			l = u.b
		}
		for _, v := range l {
			out = append(out, []types.Value{v})
		}
	case "m":
		for _, e := range u.m {
			out = append(out, []types.Value{e.Key, e.Value})
		}
	case "r":
		for _, v := range u.r {
			switch {
			case flat:
				out = append(out, []types.Value{v})
			case v == nil:
				out = append(out, []types.Value{nil, nil})
			default:
				out = append(out, slices.Clone([]types.Value(v.(types.Struct))))
			}
		}
	}
	return out
}

func argWidth(arg string, flat bool) int {
	if !flat && (arg == "m" || arg == "r") {
		return 2
	}
	return 1
}

func runUnnestRandom(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 43))
	e, _ := newTestEngine(t)
	mustExec(t, e, `CREATE TABLE rt (id INT PRIMARY KEY, a INT[], b VARCHAR[], m MAP(VARCHAR, INT), r STRUCT(x INT, s VARCHAR)[])`)
	var rows []urow
	var vals []string
	for i := range 1 + rng.IntN(12) {
		u := randURow(rng, int32(i+1))
		rows = append(rows, u)
		vals = append(vals, u.sql())
	}
	mustExec(t, e, "INSERT INTO rt VALUES "+strings.Join(vals, ", "))
	forms := []string{",", "CROSS JOIN", "JOIN", "LEFT JOIN"}
	for range 40 {
		flat := rng.IntN(4) == 0
		pool := []string{"a", "b", "m", "r"}
		if flat {
			pool = []string{"a", "b", "r"}
		}
		var args []string
		for range 1 + rng.IntN(3) {
			args = append(args, pool[rng.IntN(len(pool))])
		}
		width := 0
		for _, a := range args {
			width += argWidth(a, flat)
		}
		ord := !flat && rng.IntN(2) == 0
		form := forms[rng.IntN(len(forms))]
		cond := 0 // ON: 0 none or true, 1 c1 IS NOT NULL
		filter := rng.IntN(3) == 0
		var q string
		if flat {
			items := make([]string, len(args))
			for i, a := range args {
				items[i] = "unnest(" + a + ")"
			}
			q = "SELECT id, " + strings.Join(items, ", ") + " FROM rt"
			form = ","
		} else {
			names := make([]string, 0, width+1)
			for i := range width + b2i(ord) {
				names = append(names, "c"+strconv.Itoa(i+1))
			}
			q = "SELECT rt.id, u.* FROM rt " + form + " UNNEST(" + strings.Join(args, ", ") + ")" +
				ifStr(ord, " WITH ORDINALITY") + " AS u(" + strings.Join(names, ", ") + ")"
			if form == "JOIN" || form == "LEFT JOIN" {
				cond = rng.IntN(2)
				q += map[int]string{0: " ON true", 1: " ON u.c1 IS NOT NULL"}[cond]
			}
		}
		if filter {
			q += " WHERE id % 3 <> 0"
		}
		var want []string
		for _, u := range rows {
			if filter && u.id%3 == 0 {
				continue
			}
			per := make([][][]types.Value, len(args))
			n := 0
			for i, a := range args {
				per[i] = u.tuples(a, flat)
				n = max(n, len(per[i]))
			}
			hit := false
			for i := range n {
				row := []types.Value{u.id}
				for k, a := range args {
					if i < len(per[k]) {
						row = append(row, per[k][i]...)
					} else {
						row = append(row, make([]types.Value, argWidth(a, flat))...)
					}
				}
				if ord {
					row = append(row, int64(i+1))
				}
				if cond == 1 && row[1] == nil {
					continue
				}
				hit = true
				want = append(want, fmt.Sprint(row))
			}
			if !hit && form == "LEFT JOIN" {
				want = append(want, fmt.Sprint(append([]types.Value{u.id}, make([]types.Value, width+b2i(ord))...)))
			}
		}
		res := mustExec(t, e, q)[0]
		var got []string
		for _, r := range res.Rows {
			got = append(got, fmt.Sprint(r))
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("%s:\ngot  %d rows\n%s\nwant %d rows\n%s", q, len(got), strings.Join(got, "\n"), len(want), strings.Join(want, "\n"))
		}
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
