package query

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/siltdb/silt/internal/testkit"
	"github.com/siltdb/silt/types"
)

// TestWindowRandomOracle runs random window functions over random small
// tables and compares every value with a direct, quadratic evaluation of
// the definition: each row's partition, its order, its frame, computed
// from scratch. Replay with -seed.
func TestWindowRandomOracle(t *testing.T) {
	seed := testkit.Seed(t)
	r := rand.New(rand.NewPCG(seed, 11))
	rounds := 60
	if testing.Short() {
		rounds = 15
	}
	for round := 0; round < rounds; round++ {
		e, _ := newTestEngine(t)
		mustExec(t, e, "CREATE TABLE w (id INT PRIMARY KEY, p INT, o INT, v INT)")
		n := r.IntN(25)
		rows := make([]wrow, n)
		var vals []string
		val := func(dom int) *int64 {
			if r.IntN(5) == 0 {
				return nil
			}
			x := int64(r.IntN(dom) - dom/3)
			return &x
		}
		for i := range rows {
			rows[i] = wrow{id: int64(i + 1), p: val(3), o: val(6), v: val(40)}
			vals = append(vals, fmt.Sprintf("(%d, %s, %s, %s)", i+1, sqlInt(rows[i].p), sqlInt(rows[i].o), sqlInt(rows[i].v)))
		}
		if n > 0 {
			mustExec(t, e, "INSERT INTO w VALUES "+strings.Join(vals, ", "))
		}
		for q := 0; q < 8; q++ {
			spec := randWinSpec(r)
			sql := fmt.Sprintf("SELECT id, %s FROM w ORDER BY id", spec.sql())
			res, err := e.Exec(context.Background(), sql)
			if err != nil {
				t.Fatalf("seed %d: %s: %v", seed, sql, err)
			}
			got := res[len(res)-1].Rows
			if len(got) != n {
				t.Fatalf("seed %d: %s: %d rows, want %d", seed, sql, len(got), n)
			}
			for i := range rows {
				want := spec.oracle(rows, i)
				g := types.FormatValue(got[i][1], res[len(res)-1].Columns[1].Type)
				if g != want {
					t.Fatalf("seed %d: %s\nrow id=%d: got %s, want %s\ntable: %v", seed, sql, rows[i].id, g, want, fmtWRows(rows))
				}
			}
		}
	}
}

type wrow struct {
	id      int64
	p, o, v *int64
}

func fmtWRows(rows []wrow) string {
	var parts []string
	for _, w := range rows {
		parts = append(parts, fmt.Sprintf("(%d %s %s %s)", w.id, sqlInt(w.p), sqlInt(w.o), sqlInt(w.v)))
	}
	return strings.Join(parts, " ")
}

type winSpec struct {
	fn                 string
	lagOff, lagDefault int64
	hasDefault         bool
	partition, order   bool
	desc               bool
	nulls              int // 0 default, 1 first, 2 last
	frame              *windowFrame
}

func randWinSpec(r *rand.Rand) winSpec {
	s := winSpec{
		fn:        []string{"ROW_NUMBER", "RANK", "DENSE_RANK", "LAG", "LEAD", "FIRST_VALUE", "LAST_VALUE", "SUM", "COUNT", "COUNT*", "MIN", "MAX", "AVG"}[r.IntN(13)],
		partition: r.IntN(2) == 0,
		order:     r.IntN(4) != 0,
		desc:      r.IntN(2) == 0,
		nulls:     r.IntN(3),
	}
	s.lagOff = int64(r.IntN(4))
	s.hasDefault = r.IntN(2) == 0
	s.lagDefault = int64(r.IntN(10))
	if r.IntN(3) != 0 {
		bound := func() frameBound {
			k := 1 + r.IntN(5)
			return frameBound{kind: k, n: int64(r.IntN(4))}
		}
		f := &windowFrame{rows: r.IntN(3) != 0}
		for {
			f.start, f.end = bound(), bound()
			if f.start.kind != boundUnboundedFollowing && f.end.kind != boundUnboundedPreceding && f.start.kind <= f.end.kind &&
				(f.rows || (f.start.kind != boundPreceding && f.start.kind != boundFollowing && f.end.kind != boundPreceding && f.end.kind != boundFollowing)) {
				break
			}
		}
		s.frame = f
	}
	return s
}

func (s winSpec) sql() string {
	var b strings.Builder
	switch s.fn {
	case "LAG", "LEAD":
		fmt.Fprintf(&b, "%s(v, %d", s.fn, s.lagOff)
		if s.hasDefault {
			fmt.Fprintf(&b, ", %d", s.lagDefault)
		}
		b.WriteString(")")
	case "ROW_NUMBER", "RANK", "DENSE_RANK":
		b.WriteString(s.fn + "()")
	case "COUNT*":
		b.WriteString("COUNT(*)")
	default:
		b.WriteString(s.fn + "(v)")
	}
	b.WriteString(" OVER (")
	if s.partition {
		b.WriteString("PARTITION BY p ")
	}
	if s.order {
		b.WriteString("ORDER BY o" + ifStr(s.desc, " DESC") + []string{"", " NULLS FIRST", " NULLS LAST"}[s.nulls] + " ")
	}
	if f := s.frame; f != nil {
		b.WriteString(ifStr(f.rows, "ROWS") + ifStr(!f.rows, "RANGE") + " BETWEEN " + f.start.String() + " AND " + f.end.String())
	}
	b.WriteString(")")
	return b.String()
}

// oracle computes the spec's value for row i by the definition.
func (s winSpec) oracle(rows []wrow, i int) string {
	eq := func(a, b *int64) bool { return (a == nil && b == nil) || (a != nil && b != nil && *a == *b) }
	var part []wrow
	for _, w := range rows {
		if !s.partition || eq(w.p, rows[i].p) {
			part = append(part, w)
		}
	}
	nullsFirst := !s.desc
	if s.nulls != 0 {
		nullsFirst = s.nulls == 1
	}
	cmpO := func(a, b wrow) int {
		if !s.order {
			return 0
		}
		switch {
		case a.o == nil && b.o == nil:
			return 0
		case a.o == nil:
			return map[bool]int{true: -1, false: 1}[nullsFirst]
		case b.o == nil:
			return map[bool]int{true: 1, false: -1}[nullsFirst]
		}
		c := 0
		if *a.o < *b.o {
			c = -1
		} else if *a.o > *b.o {
			c = 1
		}
		if s.desc {
			c = -c
		}
		return c
	}
	slices.SortStableFunc(part, func(a, b wrow) int { // ties by id: the scan's order
		if c := cmpO(a, b); c != 0 {
			return c
		}
		return int(a.id - b.id)
	})
	pos := slices.IndexFunc(part, func(w wrow) bool { return w.id == rows[i].id })
	me := part[pos]
	switch s.fn {
	case "ROW_NUMBER":
		return fmt.Sprint(pos + 1)
	case "RANK":
		for j, w := range part {
			if cmpO(w, me) == 0 {
				return fmt.Sprint(j + 1)
			}
		}
	case "DENSE_RANK":
		groups := 0
		for j, w := range part {
			if j == 0 || cmpO(part[j-1], w) != 0 {
				groups++
			}
			if cmpO(w, me) == 0 {
				return fmt.Sprint(groups)
			}
		}
	case "LAG", "LEAD":
		src := pos - int(s.lagOff)
		if s.fn == "LEAD" {
			src = pos + int(s.lagOff)
		}
		if src >= 0 && src < len(part) {
			return sqlInt(part[src].v)
		}
		if s.hasDefault {
			return fmt.Sprint(s.lagDefault)
		}
		return "NULL"
	}
	// frame members
	f := windowFrame{start: frameBound{kind: boundUnboundedPreceding}, end: frameBound{kind: boundUnboundedFollowing}}
	if s.frame != nil {
		f = *s.frame
	} else if s.order {
		f.end = frameBound{kind: boundCurrent}
	}
	in := func(j int) bool {
		ok := func(b frameBound, isStart bool) bool {
			switch b.kind {
			case boundUnboundedPreceding, boundUnboundedFollowing:
				return true
			case boundCurrent:
				if !f.rows {
					c := cmpO(part[j], me)
					return (isStart && c >= 0) || (!isStart && c <= 0)
				}
				return (isStart && j >= pos) || (!isStart && j <= pos)
			case boundPreceding:
				return (isStart && j >= pos-int(b.n)) || (!isStart && j <= pos-int(b.n))
			}
			return (isStart && j >= pos+int(b.n)) || (!isStart && j <= pos+int(b.n))
		}
		return ok(f.start, true) && ok(f.end, false)
	}
	var frame []wrow
	for j := range part {
		if in(j) {
			frame = append(frame, part[j])
		}
	}
	switch s.fn {
	case "FIRST_VALUE", "LAST_VALUE":
		if len(frame) == 0 {
			return "NULL"
		}
		if s.fn == "FIRST_VALUE" {
			return sqlInt(frame[0].v)
		}
		return sqlInt(frame[len(frame)-1].v)
	case "COUNT*":
		return fmt.Sprint(len(frame))
	}
	var xs []int64
	for _, w := range frame {
		if w.v != nil {
			xs = append(xs, *w.v)
		}
	}
	if s.fn == "COUNT" {
		return fmt.Sprint(len(xs))
	}
	if len(xs) == 0 {
		return "NULL"
	}
	switch s.fn {
	case "SUM":
		var t int64
		for _, x := range xs {
			t += x
		}
		return fmt.Sprint(t)
	case "MIN":
		return fmt.Sprint(slices.Min(xs))
	case "MAX":
		return fmt.Sprint(slices.Max(xs))
	}
	var t int64
	for _, x := range xs {
		t += x
	}
	return types.FormatValue(float64(t)/float64(len(xs)), types.TDouble)
}
