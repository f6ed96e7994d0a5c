package query

import (
	"strings"

	"github.com/siltdb/silt/types"
)

// NATURAL [INNER | LEFT | RIGHT | FULL [OUTER]] JOIN: a join USING every
// column name the two sides have in common (in the left side's order),
// as in DuckDB and PostgreSQL; the merged columns come first in *.

// naturalKind parses what follows NATURAL, up to and including JOIN.
func (p *parser) naturalKind() (joinKind, error) {
	kind := joinInner
	switch {
	case p.acceptKw("INNER"):
	case p.acceptKw("LEFT"):
		kind = joinLeft
	case p.acceptKw("RIGHT"):
		kind = joinRight
	case p.acceptKw("FULL"):
		kind = joinFull
	case p.isKw("CROSS"):
		return 0, syntaxErr(p.peek(), "NATURAL CROSS JOIN is not a join; write CROSS JOIN")
	}
	if kind != joinInner {
		p.acceptKw("OUTER")
	}
	return kind, p.expectKw("JOIN")
}

// naturalUsing returns the USING list of a NATURAL join of scopes l and
// r: the names an unqualified reference finds on both sides.
func naturalUsing(l, r *scope, pos position) ([]identAt, error) {
	var out []identAt
	seen := map[string]bool{}
	for i, c := range l.cols {
		name := strings.ToLower(c.name)
		if seen[name] || l.extOf(i).hidden {
			continue
		}
		seen[name] = true
		ri, err := r.find("", c.name)
		if err != nil {
			return nil, err
		}
		if ri < 0 {
			continue
		}
		if _, err := l.find("", c.name); err != nil {
			return nil, err
		}
		out = append(out, identAt{pos: pos, name: c.name})
	}
	if len(out) == 0 {
		return nil, errf(types.ErrInvalid, "NATURAL JOIN: the two sides have no column name in common; write CROSS JOIN, or JOIN … ON")
	}
	return out, nil
}
