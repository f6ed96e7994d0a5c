package query

import (
	"strconv"
	"strings"

	"github.com/siltdb/silt/types"
)

// Parsing and printing of what may follow a function call's arguments:
// ORDER BY inside the parentheses (STRING_AGG), FILTER (WHERE …) and
// OVER (PARTITION BY … ORDER BY … frame).

// windowSpec is the OVER clause of a window function.
type windowSpec struct {
	pos       position
	partition []expr
	order     []orderItem
	frame     *windowFrame // nil: the default frame
}

// Frame bound kinds.
const (
	boundUnboundedPreceding = iota + 1
	boundPreceding
	boundCurrent
	boundFollowing
	boundUnboundedFollowing
)

type frameBound struct {
	kind int
	n    int64 // rows for boundPreceding and boundFollowing
}

// windowFrame is ROWS|RANGE BETWEEN start AND end.
type windowFrame struct {
	rows       bool // ROWS; else RANGE
	start, end frameBound
}

// maxFrameOffset bounds n in "n PRECEDING/FOLLOWING".
const maxFrameOffset = 1 << 40

// orderList parses ORDER BY item [ASC|DESC] [NULLS FIRST|LAST], ….
func (p *parser) orderList() ([]orderItem, error) {
	if err := p.expectKw("ORDER", "BY"); err != nil {
		return nil, err
	}
	var out []orderItem
	for {
		e, err := p.parseExpr()
		if err != nil {
			return nil, err
		}
		o := orderItem{expr: e}
		if p.acceptKw("DESC") {
			o.desc = true
		} else {
			p.acceptKw("ASC")
		}
		if p.acceptKw("NULLS", "FIRST") {
			o.nulls = 1
		} else if p.acceptKw("NULLS", "LAST") {
			o.nulls = 2
		}
		out = append(out, o)
		if !p.acceptOp(",") {
			return out, nil
		}
	}
}

// callSuffix parses [FILTER (WHERE cond)] [OVER (…)] after a call.
func (p *parser) callSuffix(f *funcCall) error {
	if p.isKw("FILTER") && p.peekN(1).kind == tOp && p.peekN(1).text == "(" {
		p.next()
		p.next()
		if err := p.expectKw("WHERE"); err != nil {
			return err
		}
		c, err := p.parseExpr()
		if err != nil {
			return err
		}
		f.filter = c
		if err := p.expectOp(")"); err != nil {
			return err
		}
	}
	if !p.isKw("OVER") {
		return nil
	}
	t := p.next()
	if err := p.expectOp("("); err != nil {
		return syntaxErr(p.peek(), "expected ( after OVER (named windows are not supported)")
	}
	w := &windowSpec{pos: t.pos}
	var err error
	if p.acceptKw("PARTITION", "BY") {
		if w.partition, err = p.exprList(); err != nil {
			return err
		}
	}
	if p.isKw("ORDER") {
		if w.order, err = p.orderList(); err != nil {
			return err
		}
	}
	if p.isKw("ROWS") || p.isKw("RANGE") {
		if w.frame, err = p.frame(); err != nil {
			return err
		}
	}
	f.over = w
	return p.expectOp(")")
}

func (p *parser) frame() (*windowFrame, error) {
	fr := &windowFrame{rows: p.isKw("ROWS")}
	p.next()
	if !p.acceptKw("BETWEEN") {
		b, err := p.frameBound()
		if err != nil {
			return nil, err
		}
		fr.start, fr.end = b, frameBound{kind: boundCurrent}
	} else {
		var err error
		if fr.start, err = p.frameBound(); err != nil {
			return nil, err
		}
		if err := p.expectKw("AND"); err != nil {
			return nil, err
		}
		if fr.end, err = p.frameBound(); err != nil {
			return nil, err
		}
	}
	switch {
	case fr.start.kind == boundUnboundedFollowing:
		return nil, syntaxErr(p.peek(), "a window frame cannot start at UNBOUNDED FOLLOWING")
	case fr.end.kind == boundUnboundedPreceding:
		return nil, syntaxErr(p.peek(), "a window frame cannot end at UNBOUNDED PRECEDING")
	case fr.start.kind > fr.end.kind:
		return nil, syntaxErr(p.peek(), "a window frame cannot start after its end (%s AND %s)", fr.start, fr.end)
	}
	return fr, nil
}

func (p *parser) frameBound() (frameBound, error) {
	switch {
	case p.acceptKw("UNBOUNDED", "PRECEDING"):
		return frameBound{kind: boundUnboundedPreceding}, nil
	case p.acceptKw("UNBOUNDED", "FOLLOWING"):
		return frameBound{kind: boundUnboundedFollowing}, nil
	case p.acceptKw("CURRENT", "ROW"):
		return frameBound{kind: boundCurrent}, nil
	}
	t := p.peek()
	if t.kind != tInt {
		return frameBound{}, syntaxErr(t, "expected UNBOUNDED PRECEDING, n PRECEDING, CURRENT ROW, n FOLLOWING or UNBOUNDED FOLLOWING in the window frame")
	}
	p.next()
	n, err := strconv.ParseInt(t.text, 10, 64)
	if err != nil || n > maxFrameOffset {
		return frameBound{}, syntaxErr(t, "window frame offset %s is too large (limit %d)", t.text, int64(maxFrameOffset))
	}
	switch {
	case p.acceptKw("PRECEDING"):
		return frameBound{kind: boundPreceding, n: n}, nil
	case p.acceptKw("FOLLOWING"):
		return frameBound{kind: boundFollowing, n: n}, nil
	}
	return frameBound{}, syntaxErr(p.peek(), "expected PRECEDING or FOLLOWING after %s", t.text)
}

func (b frameBound) String() string {
	switch b.kind {
	case boundUnboundedPreceding:
		return "UNBOUNDED PRECEDING"
	case boundPreceding:
		return strconv.FormatInt(b.n, 10) + " PRECEDING"
	case boundCurrent:
		return "CURRENT ROW"
	case boundFollowing:
		return strconv.FormatInt(b.n, 10) + " FOLLOWING"
	}
	return "UNBOUNDED FOLLOWING"
}

func writeOrderList(b *strings.Builder, os []orderItem) {
	b.WriteString("ORDER BY ")
	for i, o := range os {
		if i > 0 {
			b.WriteString(", ")
		}
		writeExpr(b, o.expr)
		b.WriteString(ifStr(o.desc, " DESC"))
		switch o.nulls {
		case 1:
			b.WriteString(" NULLS FIRST")
		case 2:
			b.WriteString(" NULLS LAST")
		}
	}
}

// writeCallSuffix prints FILTER and OVER after a call (format.go prints
// the call itself).
func writeCallSuffix(b *strings.Builder, f *funcCall) {
	if f.filter != nil {
		b.WriteString(" FILTER (WHERE ")
		writeExpr(b, f.filter)
		b.WriteString(")")
	}
	w := f.over
	if w == nil {
		return
	}
	b.WriteString(" OVER (")
	sep := ""
	if len(w.partition) > 0 {
		b.WriteString("PARTITION BY ")
		writeExprList(b, w.partition)
		sep = " "
	}
	if len(w.order) > 0 {
		b.WriteString(sep)
		writeOrderList(b, w.order)
		sep = " "
	}
	if fr := w.frame; fr != nil {
		b.WriteString(sep + ifStr(fr.rows, "ROWS") + ifStr(!fr.rows, "RANGE") + " BETWEEN " + fr.start.String() + " AND " + fr.end.String())
	}
	b.WriteString(")")
}

// callHead is what a call adds to its node's head for expression
// matching (bind.go): its FILTER, ORDER BY directions and window.
func callHead(f *funcCall) string {
	var b strings.Builder
	if f.filter != nil {
		b.WriteString(" filter")
	}
	dirs := func(os []orderItem) {
		for _, o := range os {
			b.WriteString(ifStr(o.desc, "d") + ifStr(!o.desc, "a") + strconv.Itoa(o.nulls))
		}
	}
	if len(f.order) > 0 {
		b.WriteString(" order")
		dirs(f.order)
	}
	if w := f.over; w != nil {
		b.WriteString(" over p" + strconv.Itoa(len(w.partition)) + " o")
		dirs(w.order)
		if fr := w.frame; fr != nil {
			b.WriteString(" " + ifStr(fr.rows, "rows") + ifStr(!fr.rows, "range") + fr.start.String() + "," + fr.end.String())
		}
	}
	return b.String()
}

// callKids are the sub-expressions of a call after its arguments.
func callKids(f *funcCall) []expr {
	var out []expr
	if f.filter != nil {
		out = append(out, f.filter)
	}
	for _, o := range f.order {
		out = append(out, o.expr)
	}
	if w := f.over; w != nil {
		out = append(out, w.partition...)
		for _, o := range w.order {
			out = append(out, o.expr)
		}
	}
	return out
}

// errWindowPlace is the error for a window function where none may be.
func errWindowPlace(f *funcCall, clause string) error {
	return errf(types.ErrInvalid, "window function %s is not allowed in %s (only in the select list and ORDER BY)", f.name, clause)
}
