package query

import (
	"cmp"
	"context"
	"slices"

	"github.com/siltdb/silt/types"
)

// Computing window columns: per call, the rows are split into partitions
// (first-appearance order), each sorted by the window's ORDER BY (ties in
// arrival order), and each row gets its value from its frame. Aggregates
// over a frame that starts at the partition's start (or ends at its end)
// are computed incrementally in one pass; other frames re-aggregate each
// row's frame, in time proportional to its width.

// compute appends the value of every window call to every row.
func (ws *windowStage) compute(ctx context.Context, rows []types.Row) error {
	for _, c := range ws.calls {
		vals, err := c.compute(ctx, rows)
		if err != nil {
			return err
		}
		for i := range rows {
			rows[i] = append(rows[i], vals[i])
		}
	}
	return nil
}

// winRow is a row of one partition with its sort keys.
type winRow struct {
	i    int // position in the input
	keys []types.Value
}

func (c *windowCall) compute(ctx context.Context, rows []types.Row) ([]types.Value, error) {
	parts := map[string][]winRow{}
	var order []string
	var key []byte
	for i, r := range rows {
		if i%rowsPerCtxCheck == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		key = key[:0]
		for _, p := range c.partition {
			v, err := p.Eval(r)
			if err != nil {
				return nil, err
			}
			key = appendValueKey(key, v)
		}
		wr := winRow{i: i, keys: make([]types.Value, len(c.order))}
		for j, k := range c.order {
			v, err := k.e.Eval(r)
			if err != nil {
				return nil, err
			}
			wr.keys[j] = v
		}
		if _, ok := parts[string(key)]; !ok {
			order = append(order, string(key))
		}
		parts[string(key)] = append(parts[string(key)], wr)
	}
	out := make([]types.Value, len(rows))
	for _, k := range order {
		part := parts[k]
		if len(c.order) > 0 { // ties keep arrival order: pdqsort with the position as the last key
			slices.SortFunc(part, func(a, b winRow) int {
				if x := c.cmpKeys(a, b); x != 0 {
					return x
				}
				return cmp.Compare(a.i, b.i)
			})
		}
		if err := c.computePartition(ctx, rows, part, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (c *windowCall) cmpKeys(a, b winRow) int {
	for j, k := range c.order {
		if x := compareKey(a.keys[j], b.keys[j], k); x != 0 {
			return x
		}
	}
	return 0
}

// peers returns, for each row of part, the first and one past the last
// index of its peer group (rows with equal ORDER BY keys).
func (c *windowCall) peers(part []winRow) (first, end []int) {
	n := len(part)
	first, end = make([]int, n), make([]int, n)
	for i := 0; i < n; {
		j := i + 1
		for j < n && c.cmpKeys(part[i], part[j]) == 0 {
			j++
		}
		for k := i; k < j; k++ {
			first[k], end[k] = i, j
		}
		i = j
	}
	return first, end
}

// frameAt returns row i's frame [lo, hi) within a partition of n rows.
func (c *windowCall) frameAt(i, n int, first, end []int) (int, int) {
	bound := func(b frameBound, isEnd bool) int {
		switch b.kind {
		case boundUnboundedPreceding:
			return 0
		case boundUnboundedFollowing:
			return n
		case boundCurrent:
			if !c.frame.rows {
				if isEnd {
					return end[i]
				}
				return first[i]
			}
			if isEnd {
				return i + 1
			}
			return i
		case boundPreceding:
			x := int64(i) - b.n
			if isEnd {
				x++
			}
			return int(max(0, min(x, int64(n))))
		}
		x := int64(i) + b.n // boundFollowing
		if isEnd {
			x++
		}
		return int(max(0, min(x, int64(n))))
	}
	lo, hi := bound(c.frame.start, false), bound(c.frame.end, true)
	if hi < lo {
		hi = lo
	}
	return lo, hi
}

func (c *windowCall) computePartition(ctx context.Context, rows []types.Row, part []winRow, out []types.Value) error {
	n := len(part)
	first, end := c.peers(part)
	evalArg := func(j, k int) (types.Value, error) { return c.args[k].Eval(rows[part[j].i]) }
	switch c.name {
	case "ROW_NUMBER":
		for j, r := range part {
			out[r.i] = int64(j + 1)
		}
		return nil
	case "RANK":
		for j, r := range part {
			out[r.i] = int64(first[j] + 1)
		}
		return nil
	case "DENSE_RANK":
		rank := int64(0)
		for j, r := range part {
			if first[j] == j {
				rank++
			}
			out[r.i] = rank
		}
		return nil
	case "LAG", "LEAD":
		for j, r := range part {
			src := int64(j) - c.offset
			if c.name == "LEAD" {
				src = int64(j) + c.offset
			}
			var v types.Value
			var err error
			switch {
			case src >= 0 && src < int64(n):
				v, err = evalArg(int(src), 0)
			case len(c.args) == 3:
				v, err = evalArg(j, 2)
			}
			if err != nil {
				return err
			}
			out[r.i] = v
		}
		return nil
	case "FIRST_VALUE", "LAST_VALUE":
		for j, r := range part {
			lo, hi := c.frameAt(j, n, first, end)
			if lo >= hi {
				out[r.i] = nil
				continue
			}
			src := lo
			if c.name == "LAST_VALUE" {
				src = hi - 1
			}
			v, err := evalArg(src, 0)
			if err != nil {
				return err
			}
			out[r.i] = v
		}
		return nil
	}
	return c.aggregatePartition(ctx, rows, part, first, end, out)
}

// aggregatePartition computes an aggregate over each row's frame.
func (c *windowCall) aggregatePartition(ctx context.Context, rows []types.Row, part []winRow, first, end []int, out []types.Value) error {
	n := len(part)
	a := c.agg
	args := make([]types.Value, n) // the aggregate's input per row; NULL is skipped
	for j, r := range part {
		v := types.Value(true)
		if a.arg != nil {
			var err error
			if v, err = a.arg.Eval(rows[r.i]); err != nil {
				return err
			}
		}
		args[j] = v
	}
	add := func(st aggState, j int) error {
		if args[j] == nil {
			return nil
		}
		return st.add(args[j])
	}
	switch {
	case c.frame.start.kind == boundUnboundedPreceding: // frames grow forward
		st, next := a.newState(), 0
		for j, r := range part {
			_, hi := c.frameAt(j, n, first, end)
			for ; next < hi; next++ {
				if err := add(st, next); err != nil {
					return err
				}
			}
			v, err := st.result()
			if err != nil {
				return err
			}
			out[r.i] = v
		}
	case c.frame.end.kind == boundUnboundedFollowing: // frames grow backward
		st, next := a.newState(), n-1
		for j := n - 1; j >= 0; j-- {
			lo, _ := c.frameAt(j, n, first, end)
			for ; next >= lo; next-- {
				if err := add(st, next); err != nil {
					return err
				}
			}
			v, err := st.result()
			if err != nil {
				return err
			}
			out[part[j].i] = v
		}
	default:
		for j, r := range part {
			if j%rowsPerCtxCheck == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			lo, hi := c.frameAt(j, n, first, end)
			st := a.newState()
			for k := lo; k < hi; k++ {
				if err := add(st, k); err != nil {
					return err
				}
			}
			v, err := st.result()
			if err != nil {
				return err
			}
			out[r.i] = v
		}
	}
	return nil
}
