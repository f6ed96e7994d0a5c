package query

import (
	"context"
	"iter"
	"slices"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/siltdb/silt/types"
)

// The vectorized hash join: a join whose sides both produce Arrow
// batches (tables, and joins of tables) joins batch by batch. It reads
// the build side into one batch and a hash table from its key values to
// its rows (chained, so duplicates cost one slot each); then each probe
// batch's keys are looked up row by row into pairs of (probe row, build
// row), the pairs are taken from both sides (takeArray) into a joined
// batch, the residual part of ON is evaluated on that batch, and the
// merged USING columns are computed on it. Outer joins add the probe
// rows without a match after each probe batch and the build rows
// without one at the end, NULL-padded. Keys are equal exactly when the
// row join's appendValueKey encodings are (appendArrayKey); a NULL key
// never matches. The build side is the right one, or for an inner join
// the smaller side when both are tables whose row counts the manifests
// tell. The row join (join.go) stays the reference: Engine.rowEngine
// selects it, and the differential test compares the two.

// batchSource is a source that yields batches of schema (its scope's
// columns, in order).
type batchSource struct {
	schema *arrow.Schema
	open   func(ctx context.Context) (int64, iter.Seq2[arrow.Record, error], error)
	// estimate returns the source's row count as the manifests tell it,
	// -1 when unknown.
	estimate func(ctx context.Context) int64
}

// joinBatchRows is the number of joined rows a batch of join output
// holds at most (before the residual condition).
const joinBatchRows = 8192

// vecJoin is a joinPlan compiled for batches.
type vecJoin struct {
	jp          *joinPlan
	l, r        *batchSource
	out, lr     *arrow.Schema // output; left then right (the residual's input)
	lkeys       []vecExpr     // over a left batch
	rkeys       []vecExpr     // over a right batch after nl NULL columns
	rpad        *arrow.Schema
	residual    vecExpr   // over lr
	merged      []vecExpr // over lr
	buildLeft   bool      // decided when opened (or explained)
	decidedOpen bool
}

// vecTakeable reports whether the join can carry columns of type t
// (takeArray has a typed loop for it; nested values stay on rows).
func vecTakeable(t arrow.DataType) bool {
	switch t.ID() {
	case arrow.BOOL, arrow.INT32, arrow.INT64, arrow.FLOAT32, arrow.FLOAT64, arrow.DATE32, arrow.TIMESTAMP,
		arrow.TIME64, arrow.FIXED_SIZE_BINARY, arrow.DECIMAL128, arrow.STRING, arrow.BINARY:
		return true
	}
	return false
}

// compileJoin returns the batch form of jp, or nil when a side has no
// batches or a condition or column does not compile.
func compileJoin(jp *joinPlan) *vecJoin {
	l, r := jp.l.batch, jp.r.batch
	if l == nil || r == nil || (len(jp.lkeys) == 0 && jp.kind != joinCross && jp.residual == nil) {
		return nil
	}
	vj := &vjoinBuilder{ok: true}
	lr := make([]arrow.Field, 0, jp.nl+jp.nr)
	lr = append(lr, l.schema.Fields()...)
	lr = append(lr, r.schema.Fields()...)
	if len(lr) != jp.nl+jp.nr {
		return nil
	}
	for i := range lr {
		lr[i].Name = "c" + strconv.Itoa(i)
		if !vecTakeable(lr[i].Type) {
			return nil
		}
	}
	v := &vecJoin{jp: jp, l: l, r: r, lr: arrow.NewSchema(lr, nil)}
	out := lr
	for k, m := range jp.merged {
		at, err := types.ArrowType(m.t)
		if err != nil {
			return nil
		}
		out = append(out, arrow.Field{Name: "c" + strconv.Itoa(jp.nl+jp.nr+k), Type: at, Nullable: true})
		var lc, rc bexpr = &colB{idx: m.l, t: m.lt}, &colB{idx: m.r, t: m.rt}
		if !m.lt.Equal(m.t) {
			lc = &castB{x: lc, to: m.t}
		}
		if !m.rt.Equal(m.t) {
			rc = &castB{x: rc, to: m.t}
		}
		v.merged = append(v.merged, vj.comp(&coalesceB{args: []bexpr{lc, rc}, t: m.t}))
	}
	v.out = arrow.NewSchema(slices.Clone(out), nil)
	v.rpad = arrow.NewSchema(append(padFields(jp.nl), r.schema.Fields()...), nil)
	for i := range jp.lkeys {
		v.lkeys = append(v.lkeys, vj.comp(jp.lkeys[i]))
		v.rkeys = append(v.rkeys, vj.comp(jp.rkeys[i]))
	}
	if jp.residual != nil {
		v.residual = vj.comp(jp.residual)
	}
	if !vj.ok {
		return nil
	}
	return v
}

type vjoinBuilder struct{ ok bool }

func (b *vjoinBuilder) comp(e bexpr) vecExpr {
	at, err := types.ArrowType(e.Type())
	if err != nil {
		b.ok = false
		return nil
	}
	return checkedVec{v: compileVecCol(e), want: at}
}

// source is the batch form of the join, as a source of a parent join or
// of the SELECT over it.
func (v *vecJoin) source() *batchSource {
	return &batchSource{schema: v.out, open: v.open, estimate: func(context.Context) int64 { return -1 }}
}

// chooseBuild decides which side to build: the right one, or for an
// inner join the left one when it is known to be smaller.
func (v *vecJoin) chooseBuild(ctx context.Context) bool {
	if v.decidedOpen {
		return v.buildLeft
	}
	v.decidedOpen = true
	if v.jp.kind == joinInner && len(v.lkeys) > 0 {
		ln, rn := v.l.estimate(ctx), v.r.estimate(ctx)
		v.buildLeft = ln >= 0 && rn >= 0 && ln < rn
	}
	return v.buildLeft
}

// joinTable maps key values to the build rows that have them, in the
// order they were read (as the row join matches them).
type joinTable struct {
	ints  map[int64]int32 // a single integer-like key: its chain
	bytes map[string]int32
	heads []int32 // per chain: its first build row
	tails []int32 // per chain: its last build row
	next  []int32 // the next build row with the same key; -1 ends
	buf   []byte
}

// link appends row to chain c (-1: a new chain), returning the chain.
func (t *joinTable) link(c, row int32, found bool) int32 {
	if !found {
		t.heads, t.tails = append(t.heads, row), append(t.tails, row)
		return int32(len(t.heads) - 1)
	}
	t.next[t.tails[c]] = row
	t.tails[c] = row
	return c
}

// intKey returns the int64 form of a single integer-like key array.
func intKey(a arrow.Array) (func(i int) int64, bool) {
	switch x := a.(type) {
	case *array.Int32:
		return func(i int) int64 { return int64(x.Value(i)) }, true
	case *array.Int64:
		return func(i int) int64 { return x.Value(i) }, true
	case *array.Date32:
		return func(i int) int64 { return int64(x.Value(i)) }, true
	case *array.Timestamp:
		return func(i int) int64 { return int64(x.Value(i)) }, true
	}
	return nil, false
}

// anyNull reports whether a key of row i is NULL.
func anyNull(keys []arrow.Array, i int) bool {
	for _, k := range keys {
		if k.IsNull(i) {
			return true
		}
	}
	return false
}

// insert adds rows base.. of keys to the table.
func (t *joinTable) insert(keys []arrow.Array, n int, base int32) {
	var ik func(int) int64
	if len(keys) == 1 {
		ik, _ = intKey(keys[0])
	}
	for i := 0; i < n; i++ {
		row := base + int32(i)
		t.next = append(t.next, -1)
		if anyNull(keys, i) {
			continue
		}
		if ik != nil {
			c, ok := t.ints[ik(i)]
			if c2 := t.link(c, row, ok); !ok {
				t.ints[ik(i)] = c2
			}
			continue
		}
		t.buf = t.buf[:0]
		for _, k := range keys {
			t.buf = appendArrayKey(t.buf, k, i)
		}
		c, ok := t.bytes[string(t.buf)]
		if c2 := t.link(c, row, ok); !ok {
			t.bytes[string(t.buf)] = c2
		}
	}
}

// head returns the first build row with row i's keys, -1 if none.
func (t *joinTable) head(keys []arrow.Array, ik func(int) int64, i int) int32 {
	if anyNull(keys, i) {
		return -1
	}
	if ik != nil {
		if c, ok := t.ints[ik(i)]; ok {
			return t.heads[c]
		}
		return -1
	}
	t.buf = t.buf[:0]
	for _, k := range keys {
		t.buf = appendArrayKey(t.buf, k, i)
	}
	if c, ok := t.bytes[string(t.buf)]; ok {
		return t.heads[c]
	}
	return -1
}

// evalKeys evaluates the keys of one side over b.
func (v *vecJoin) evalKeys(ctx context.Context, left bool, b arrow.Record) ([]arrow.Array, error) {
	if left {
		return evalAll(ctx, v.lkeys, b)
	}
	padded := padRecord(v.rpad, v.jp.nl, b)
	defer padded.Release()
	return evalAll(ctx, v.rkeys, padded)
}

// padRecord returns b after n all-NULL columns (BOOLEAN: the
// cheapest typed NULLs, which the row fallback of expressions reads as
// NULL), under schema.
func padRecord(schema *arrow.Schema, n int, b arrow.Record) arrow.Record {
	rows := int(b.NumRows())
	cols := make([]arrow.Array, 0, n+int(b.NumCols()))
	var null arrow.Array
	if n > 0 {
		null = array.MakeArrayOfNull(memory.DefaultAllocator, arrow.FixedWidthTypes.Boolean, rows)
		defer null.Release()
	}
	for i := 0; i < n; i++ {
		cols = append(cols, null)
	}
	cols = append(cols, b.Columns()...)
	return array.NewRecord(schema, cols, int64(rows))
}

// padFields are n BOOLEAN fields, what padRecord puts in front.
func padFields(n int) []arrow.Field {
	out := make([]arrow.Field, n)
	for i := range out {
		out[i] = arrow.Field{Name: "p" + strconv.Itoa(i), Type: arrow.FixedWidthTypes.Boolean, Nullable: true}
	}
	return out
}

func (v *vecJoin) open(ctx context.Context) (int64, iter.Seq2[arrow.Record, error], error) {
	buildLeft := v.chooseBuild(ctx)
	lsnap, lb, err := v.l.open(ctx)
	if err != nil {
		return 0, nil, err
	}
	_, rb, err := v.r.open(ctx)
	if err != nil {
		return 0, nil, err
	}
	build, probe := rb, lb
	bschema := v.r.schema
	if buildLeft {
		build, probe, bschema = lb, rb, v.l.schema
	}
	return lsnap, measureBatches(ctx, v.jp.m, func(yield func(arrow.Record, error) bool) {
		if err := v.run(ctx, buildLeft, build, probe, bschema, yield); err != nil {
			if _, stopped := err.(stopJoin); !stopped {
				yield(nil, err)
			}
		}
	}), nil
}

// stopJoin ends a join whose consumer stopped.
type stopJoin struct{}

func (stopJoin) Error() string { return "stopped" }

// run joins: it builds from build, probes with probe and yields the
// joined batches; an error is returned, not yielded. The rows come in
// the row join's order: each probe row's matches in the order the build
// side was read, or the probe row NULL-padded (outer), then the build
// rows nothing matched (outer).
func (v *vecJoin) run(ctx context.Context, buildLeft bool, build, probe iter.Seq2[arrow.Record, error], bschema *arrow.Schema, yield func(arrow.Record, error) bool) error {
	jp := v.jp
	hashed := len(v.lkeys) > 0
	// Build.
	var parts []arrow.Record
	defer func() {
		for _, p := range parts {
			p.Release()
		}
	}()
	t := &joinTable{ints: map[int64]int32{}, bytes: map[string]int32{}}
	var nb int64
	for b, err := range build {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if b.NumRows() == 0 {
			continue
		}
		if nb+b.NumRows() >= 1<<31-1 {
			return errf(types.ErrInvalid, "the build side of a join has more than %d rows; filter it, or join a smaller table on that side", 1<<31-2)
		}
		if hashed {
			keys, err := v.evalKeys(ctx, buildLeft, b)
			if err != nil {
				return err
			}
			t.insert(keys, int(b.NumRows()), int32(nb))
			releaseAll(keys)
		}
		b.Retain()
		parts = append(parts, b)
		nb += b.NumRows()
	}
	outerProbe := jp.kind == joinFull || (buildLeft && jp.kind == joinRight) || (!buildLeft && jp.kind == joinLeft)
	outerBuild := jp.kind == joinFull || (buildLeft && jp.kind == joinLeft) || (!buildLeft && jp.kind == joinRight)
	// The build columns end with one all-NULL row: the build side of a
	// padded probe row.
	bcols := concatRecords(bschema, parts)
	defer releaseAll(bcols)
	pad := int32(nb)
	var matched []bool
	if outerBuild {
		matched = make([]bool, nb)
	}
	// Probe.
	pidx := make([]int32, 0, joinBatchRows)
	bidx := make([]int32, 0, joinBatchRows)
	for pb, err := range probe {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		n := int(pb.NumRows())
		if n == 0 {
			continue
		}
		pr := &probeRun{v: v, buildLeft: buildLeft, pb: pb, bcols: bcols, pad: pad, matched: matched, yield: yield}
		if outerProbe {
			pr.hit = make([]bool, n)
		}
		if hashed {
			keys, err := v.evalKeys(ctx, !buildLeft, pb)
			if err != nil {
				return err
			}
			var ik func(int) int64
			if len(keys) == 1 {
				ik, _ = intKey(keys[0])
			}
			for i := 0; i < n; i++ {
				for j := t.head(keys, ik, i); j >= 0; j = t.next[j] {
					pidx, bidx = append(pidx, int32(i)), append(bidx, j)
					if len(pidx) >= joinBatchRows {
						if err := pr.flush(ctx, pidx, bidx, i); err != nil {
							releaseAll(keys)
							return err
						}
						pidx, bidx = pidx[:0], bidx[:0]
					}
				}
			}
			releaseAll(keys)
		} else {
			for i := 0; i < n; i++ {
				for j := int32(0); j < int32(nb); j++ {
					pidx, bidx = append(pidx, int32(i)), append(bidx, j)
					if len(pidx) >= joinBatchRows {
						if err := pr.flush(ctx, pidx, bidx, i); err != nil {
							return err
						}
						pidx, bidx = pidx[:0], bidx[:0]
					}
				}
			}
		}
		if err := pr.flush(ctx, pidx, bidx, n); err != nil {
			return err
		}
		pidx, bidx = pidx[:0], bidx[:0]
	}
	if outerBuild {
		for j, m := range matched {
			if !m {
				bidx = append(bidx, int32(j))
			}
			if len(bidx) >= joinBatchRows || (j == len(matched)-1 && len(bidx) > 0) {
				buildCols := takeCols(bcols, bidx)
				err := v.emitPadded(ctx, buildLeft, buildCols, len(bidx), yield)
				bidx = bidx[:0]
				if err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// probeRun joins one probe batch.
type probeRun struct {
	v         *vecJoin
	buildLeft bool
	pb        arrow.Record
	bcols     []arrow.Array
	pad       int32  // the build columns' all-NULL row
	hit       []bool // per probe row: matched (outer probe side only)
	matched   []bool // per build row: matched (outer build side only)
	done      int    // the probe rows before it are out
	yield     func(arrow.Record, error) bool
}

// flush joins the candidate pairs pidx, bidx (in probe row order): it
// keeps those the residual condition passes and yields them, with the
// probe rows before upto (which have no more candidates) that matched
// nothing NULL-padded at their place.
func (r *probeRun) flush(ctx context.Context, pidx, bidx []int32, upto int) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	v := r.v
	if len(pidx) > 0 && v.residual != nil {
		lr := r.take(pidx, bidx)
		a, err := v.residual.eval(ctx, lr)
		lr.Release()
		if err != nil {
			return err
		}
		cond := a.(*array.Boolean)
		kp, kb := make([]int32, 0, len(pidx)), make([]int32, 0, len(pidx))
		for i := 0; i < cond.Len(); i++ {
			if cond.IsValid(i) && cond.Value(i) {
				kp, kb = append(kp, pidx[i]), append(kb, bidx[i])
			}
		}
		a.Release()
		pidx, bidx = kp, kb
	}
	op, ob := pidx, bidx
	if r.hit != nil {
		op, ob = make([]int32, 0, len(pidx)), make([]int32, 0, len(pidx))
		for k, p := range pidx {
			for ; r.done < int(p); r.done++ {
				if !r.hit[r.done] {
					op, ob = append(op, int32(r.done)), append(ob, r.pad)
				}
			}
			op, ob = append(op, p), append(ob, bidx[k])
			r.hit[p] = true
		}
		for ; r.done < upto; r.done++ {
			if !r.hit[r.done] {
				op, ob = append(op, int32(r.done)), append(ob, r.pad)
			}
		}
	}
	if r.matched != nil {
		for _, b := range bidx {
			r.matched[b] = true
		}
	}
	for len(op) > 0 {
		k := min(len(op), joinBatchRows)
		lr := r.take(op[:k], ob[:k])
		err := v.yieldMerged(ctx, lr, r.yield)
		lr.Release()
		if err != nil {
			return err
		}
		op, ob = op[k:], ob[k:]
	}
	return nil
}

// take builds the joined batch (left then right) of the pairs.
func (r *probeRun) take(pidx, bidx []int32) arrow.Record {
	probeCols := takeCols(r.pb.Columns(), pidx)
	buildCols := takeCols(r.bcols, bidx)
	lcols, rcols := probeCols, buildCols
	if r.buildLeft {
		lcols, rcols = buildCols, probeCols
	}
	lr := array.NewRecord(r.v.lr, append(lcols, rcols...), int64(len(pidx)))
	releaseAll(probeCols)
	releaseAll(buildCols)
	return lr
}

// emitPadded yields rows of one side (left when left) with the other
// side NULL.
func (v *vecJoin) emitPadded(ctx context.Context, left bool, cols []arrow.Array, n int, yield func(arrow.Record, error) bool) error {
	defer releaseAll(cols)
	var other *arrow.Schema
	if left {
		other = v.r.schema
	} else {
		other = v.l.schema
	}
	nulls := make([]arrow.Array, other.NumFields())
	for i, f := range other.Fields() {
		nulls[i] = array.MakeArrayOfNull(memory.DefaultAllocator, f.Type, n)
	}
	defer releaseAll(nulls)
	var all []arrow.Array
	if left {
		all = append(append(all, cols...), nulls...)
	} else {
		all = append(append(all, nulls...), cols...)
	}
	lr := array.NewRecord(v.lr, all, int64(n))
	defer lr.Release()
	return v.yieldMerged(ctx, lr, yield)
}

// yieldMerged adds the merged USING columns to lr and yields it.
func (v *vecJoin) yieldMerged(ctx context.Context, lr arrow.Record, yield func(arrow.Record, error) bool) error {
	out := lr
	if len(v.merged) > 0 {
		extra, err := evalAll(ctx, v.merged, lr)
		if err != nil {
			return err
		}
		out = array.NewRecord(v.out, append(slices.Clone(lr.Columns()), extra...), lr.NumRows())
		releaseAll(extra)
		defer out.Release()
	}
	if !yield(out, nil) {
		return stopJoin{}
	}
	return nil
}

// takeCols takes rows idx of each column.
func takeCols(cols []arrow.Array, idx []int32) []arrow.Array {
	out := make([]arrow.Array, len(cols))
	for i, c := range cols {
		out[i] = takeArray(c, idx)
	}
	return out
}

// concatRecords returns the columns of parts one after the other, and
// then one all-NULL row.
func concatRecords(schema *arrow.Schema, parts []arrow.Record) []arrow.Array {
	cols := make([]arrow.Array, schema.NumFields())
	for c := range cols {
		arrs := make([]arrow.Array, 0, len(parts)+1)
		for _, p := range parts {
			arrs = append(arrs, p.Column(c))
		}
		null := array.MakeArrayOfNull(memory.DefaultAllocator, schema.Field(c).Type, 1)
		a, err := array.Concatenate(append(arrs, null), memory.DefaultAllocator)
		null.Release()
		if err != nil { // cannot happen: the parts share the schema
			a = array.MakeArrayOfNull(memory.DefaultAllocator, schema.Field(c).Type, 1)
		}
		cols[c] = a
	}
	return cols
}
