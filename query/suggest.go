package query

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/siltdb/silt/types"
)

// Suggest returns the candidate closest to name by edit distance
// (case-insensitive), or "" when none is close enough to be the name
// meant (a name of one letter gets none): within a third of the name's length (at least 1, at most 3
// edits), or a candidate the name is the start of. Ties go to the
// candidate fewer edits away, then to the alphabetically first. Errors for unknown tables, columns and
// commands use it for their "did you mean" hints.
func Suggest(name string, candidates []string) string {
	n := utf8.RuneCountInString(name)
	if n < 2 {
		return "" // one letter is too little to tell what was meant
	}
	limit := min(max(n/3, 1), 3)
	lname := strings.ToLower(name)
	sorted := append([]string(nil), candidates...)
	sort.Strings(sorted)
	best, bestD, bestReal := "", limit+1, 0
	for _, c := range sorted {
		lc := strings.ToLower(c)
		if lc == lname {
			return c
		}
		real := editDistance(lname, lc, 64)
		d := real
		if n >= 3 && strings.HasPrefix(lc, lname) {
			d = min(d, limit)
		}
		if d < bestD || (d == bestD && real < bestReal) {
			best, bestD, bestReal = c, d, real
		}
	}
	return best
}

// DidYouMean is Suggest as a message suffix: ` (did you mean "x"?)`, or
// "" with no suggestion.
func DidYouMean(name string, candidates []string) string {
	if s := Suggest(name, candidates); s != "" && s != name {
		return ` (did you mean "` + s + `"?)`
	}
	return ""
}

// editDistance is the Levenshtein distance of a and b in runes, or any
// value >= bound once it is known to reach bound.
func editDistance(a, b string, bound int) int {
	ra, rb := []rune(a), []rune(b)
	if d := len(ra) - len(rb); d >= bound || -d >= bound {
		return bound
	}
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			rowMin = min(rowMin, cur[j])
		}
		if rowMin >= bound {
			return bound
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// columnHint is the "did you mean" of an unknown column among the columns
// a scope offers.
func (s *scope) columnHint(name string) string {
	names := make([]string, len(s.cols))
	for i, c := range s.cols {
		names[i] = c.name
	}
	return DidYouMean(name, names)
}

// fieldHint is the "did you mean" of an unknown column of a schema.
func fieldHint(name string, s *types.Schema) string {
	names := make([]string, len(s.Fields))
	for i, f := range s.Fields {
		names[i] = f.Name
	}
	return DidYouMean(name, names)
}

// maxHintDatabases bounds the databases tableHint looks through for a
// table of the name asked for.
const maxHintDatabases = 64

// tableHint is the "did you mean" of an unknown table db.name: a table of
// db with a close name, a database close to db when db does not exist, or
// the same name in another database (a forgotten "db." prefix). A lookup
// that fails gives no hint.
func (e *Engine) tableHint(ctx context.Context, db, name string) string {
	dbs, err := e.cat.ListDatabases(ctx)
	if err != nil {
		return ""
	}
	if slices.Contains(dbs, db) {
		if tables, err := e.cat.ListTables(ctx, db); err == nil {
			if s := Suggest(name, tables); s != "" && s != name {
				return fmt.Sprintf(` (did you mean "%s.%s"?)`, db, s)
			}
		}
	}
	for i, other := range dbs {
		if i == maxHintDatabases {
			break
		}
		if other == db {
			continue
		}
		if tables, err := e.cat.ListTables(ctx, other); err == nil && slices.Contains(tables, name) {
			return fmt.Sprintf(` (did you mean "%s.%s"?)`, other, name)
		}
	}
	if !slices.Contains(dbs, db) {
		if s := Suggest(db, dbs); s != "" {
			return fmt.Sprintf(` (no database %q; did you mean "%s.%s"?)`, db, s, name)
		}
		return fmt.Sprintf(` (no database %q; SHOW DATABASES lists them)`, db)
	}
	return ""
}
