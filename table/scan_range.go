package table

import (
	"net/url"
	"strings"

	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/types"
)

// Range pruning: ScanOptions.Ranges bound the values of columns. A bound
// on a partition column skips partitions whose value is outside it; a bound
// on the first primary-key column skips files whose min and max keys show
// it holds no key inside it. Like Equals they are hints: the reader still
// filters the rows it gets.

// Range is the set of values a column may have: those in In when In is not
// nil, and between Lo and Hi (nil: unbounded; LoIncl and HiIncl include
// the bound itself). Values must have the column's Go type; a Range with a
// value that does not is ignored.
type Range struct {
	Lo, Hi         types.Value
	LoIncl, HiIncl bool
	In             []types.Value
}

// overlaps reports whether some value v with lo <= v <= hi is in r.
func (r Range) overlaps(lo, hi types.Value) bool {
	if r.Lo != nil && r.Hi != nil {
		if c := types.Compare(r.Lo, r.Hi); c > 0 || c == 0 && !(r.LoIncl && r.HiIncl) {
			return false // empty
		}
	}
	if r.Lo != nil {
		if c := types.Compare(hi, r.Lo); c < 0 || c == 0 && !r.LoIncl {
			return false
		}
	}
	if r.Hi != nil {
		if c := types.Compare(lo, r.Hi); c > 0 || c == 0 && !r.HiIncl {
			return false
		}
	}
	if r.In == nil {
		return true
	}
	for _, v := range r.In {
		if types.Compare(v, lo) >= 0 && types.Compare(v, hi) <= 0 && r.overlapsBounds(v) {
			return true
		}
	}
	return false
}

// overlapsBounds reports whether v is within Lo and Hi.
func (r Range) overlapsBounds(v types.Value) bool {
	return Range{Lo: r.Lo, Hi: r.Hi, LoIncl: r.LoIncl, HiIncl: r.HiIncl}.overlaps(v, v)
}

// valid reports whether every value of r has the Go type of column f.
func (r Range) valid(f types.Field) bool {
	ok := func(v types.Value) bool { return v == nil || types.CheckValue(v, f.Type) == nil }
	if !ok(r.Lo) || !ok(r.Hi) {
		return false
	}
	for _, v := range r.In {
		if v == nil || !ok(v) {
			return false
		}
	}
	return true
}

// validRanges keeps the ranges of o that name a column of t and have its
// types; an equality on the first key column becomes a range too, so it
// prunes files even when it does not cover the whole key.
func (t *Table) validRanges(o ScanOptions, equals map[int]types.Value) map[int]Range {
	out := map[int]Range{}
	for i, r := range o.Ranges {
		if i >= 0 && i < len(t.schema.Fields) && r.valid(t.schema.Fields[i]) {
			out[i] = r
		}
	}
	if len(t.keyIdx) > 0 {
		k := t.keyIdx[0]
		if v, ok := equals[k]; ok {
			r := out[k]
			r.In = []types.Value{v}
			if o, had := out[k]; had && o.In != nil && !o.overlaps(v, v) {
				r.In = []types.Value{} // contradictory: nothing matches
			}
			out[k] = r
		}
	}
	return out
}

// partitionInRanges reports whether partition path may hold rows inside
// ranges; a path it cannot read is kept.
func (t *Table) partitionInRanges(path string, ranges map[int]Range) bool {
	if len(t.partIdx) == 0 || len(ranges) == 0 {
		return true
	}
	segs := strings.Split(path, "/")
	if len(segs) != len(t.partIdx) {
		return true
	}
	for i, idx := range t.partIdx {
		r, ok := ranges[idx]
		if !ok {
			continue
		}
		f := t.schema.Fields[idx]
		name, raw, ok := strings.Cut(segs[i], "=")
		if !ok || name != f.Name {
			continue
		}
		txt, err := url.PathUnescape(raw)
		if err != nil {
			continue
		}
		v, err := types.ParseText(txt, f.Type)
		if err != nil || types.FormatValue(v, f.Type) != txt {
			continue // not a value's canonical text: keep it
		}
		if !r.overlaps(v, v) {
			return false
		}
	}
	return true
}

// fileInKeyRange reports whether file f may hold keys whose first column
// is inside its range.
func (t *Table) fileInKeyRange(f *manifest.DataFile, ranges map[int]Range) bool {
	if len(t.keyIdx) == 0 {
		return true
	}
	r, ok := ranges[t.keyIdx[0]]
	if !ok {
		return true
	}
	lo, err1 := types.DecodeKey(f.MinKey)
	hi, err2 := types.DecodeKey(f.MaxKey)
	if err1 != nil || err2 != nil || len(lo) == 0 || len(hi) == 0 {
		return true
	}
	if types.CheckValue(lo[0], t.schema.Fields[t.keyIdx[0]].Type) != nil || types.CheckValue(hi[0], t.schema.Fields[t.keyIdx[0]].Type) != nil {
		return true
	}
	return r.overlaps(lo[0], hi[0])
}
