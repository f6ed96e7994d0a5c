package lsm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"slices"
	"sort"
	"sync"

	"github.com/siltdb/silt/types"
)

// Point reads by pages. A lookup reads, in each row group its bloom
// filter admits, the _key pages whose bounds in the column index admit
// the key (one ranged read; usually one page), decodes them to find the
// key's rows, then reads the pages of the _seq, _kind and projected
// columns holding those rows, with the dictionary pages of the chunks
// that have one: ranges closer than coalesceGap are merged and the reads
// run concurrently. Each page is verified before it is decoded
// (page_decode.go). A row group without a page index, or with a page the
// page path does not decode, is read whole as before.
//
// A lookup aims to read at most lookupBudget bytes of a row group in as
// few requests as fit: a row group no larger than that is fetched in one
// read (its CRC-32C checked, then its pages decoded and checked as
// below), and the value pages of a larger one are merged into one read
// when the span from the first to the last fits the budget left after
// the _key pages.

// coalesceGap merges two ranges of one read when at most this many bytes
// separate them: one larger read is cheaper than two requests.
const coalesceGap = 16 << 10

// coalesceBudget: while a step reads less than this in all, the ranges
// with the smallest gaps between them are merged further, trading bytes
// for requests.
const coalesceBudget = 48 << 10

// lookupBudget is the bytes a lookup of one row group aims to read at
// most (see above): a cold lookup's target is one or two GETs and at most
// 64 KB.
const lookupBudget = 64 << 10

// fetchParallel bounds the concurrent reads of one page read.
const fetchParallel = 8

// span is the byte range [off, end) of a file.
type span struct{ off, end int64 }

// coalesce sorts spans and merges those that overlap or lie within gap
// bytes of each other, then, smallest gap first, those whose gap keeps
// the total read within budget.
func coalesce(spans []span, gap, budget int64) []span {
	slices.SortFunc(spans, func(a, b span) int {
		if a.off != b.off {
			if a.off < b.off {
				return -1
			}
			return 1
		}
		return 0
	})
	var out []span
	var total int64
	for _, s := range spans {
		if n := len(out); n > 0 && s.off <= out[n-1].end+gap {
			total += max(out[n-1].end, s.end) - out[n-1].end
			out[n-1].end = max(out[n-1].end, s.end)
			continue
		}
		out = append(out, s)
		total += s.end - s.off
	}
	for len(out) > 1 {
		k := 0 // the smallest gap follows out[k]
		for j := 1; j < len(out)-1; j++ {
			if out[j+1].off-out[j].end < out[k+1].off-out[k].end {
				k = j
			}
		}
		g := out[k+1].off - out[k].end
		if total+g > budget {
			break
		}
		total += g
		out[k].end = out[k+1].end
		out = append(out[:k+1], out[k+2:]...)
	}
	return out
}

// fetched holds the ranges read by a page read, sorted by offset.
type fetched []sliceReaderAt

// at returns the n bytes at off when one fetched range holds them.
func (fs fetched) at(off, n int64) ([]byte, bool) {
	k := sort.Search(len(fs), func(k int) bool { return fs[k].off+int64(len(fs[k].data)) > off })
	if k == len(fs) || fs[k].off > off || off+n > fs[k].off+int64(len(fs[k].data)) {
		return nil, false
	}
	return fs[k].data[off-fs[k].off : off-fs[k].off+n], true
}

// fetch reads the coalesced spans concurrently; budget is coalesce's.
func (f *FileReader) fetch(ctx context.Context, spans []span, budget int64) (fetched, error) {
	spans = coalesce(spans, coalesceGap, budget)
	out := make(fetched, len(spans))
	errs := make([]error, len(spans))
	sem := make(chan struct{}, fetchParallel)
	var wg sync.WaitGroup
	for k, s := range spans {
		if len(spans) == 1 {
			data, err := readRange(ctx, f.r, s.off, s.end-s.off, "data pages")
			out[k], errs[k] = sliceReaderAt{off: s.off, data: data}, err
			break
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			data, err := readRange(ctx, f.r, s.off, s.end-s.off, "data pages")
			out[k], errs[k] = sliceReaderAt{off: s.off, data: data}, err
		}()
	}
	wg.Wait()
	for k, err := range errs {
		if err != nil {
			return nil, err
		}
		f.bytesRead.Add(spans[k].end - spans[k].off)
	}
	f.pageReads.Add(int64(len(spans)))
	return out, nil
}

// pageSpan is the byte range of pages [a, b] of a chunk.
func (c *chunkIndex) pageSpan(a, b int) span {
	return span{c.pages[a].off, c.pages[b].off + c.pages[b].size}
}

// runsOf groups sorted, distinct page numbers into runs of adjacent pages.
func runsOf(pages []int) [][2]int {
	var runs [][2]int
	for _, p := range pages {
		if n := len(runs); n > 0 && runs[n-1][1] == p-1 {
			runs[n-1][1] = p
			continue
		}
		runs = append(runs, [2]int{p, p})
	}
	return runs
}

// LookupKeys returns the records of keys (sorted ascending, distinct) in
// file order, reading only the pages that may hold them (see above); a row
// group that cannot be read by pages is read whole. A damaged page gives
// an error wrapping types.ErrCorruption.
func (f *FileReader) LookupKeys(ctx context.Context, keys [][]byte) ([]Record, error) {
	return f.lookupKeys(ctx, keys, lookupBudget)
}

// lookupKeys is LookupKeys aiming at budget bytes per row group (tests
// vary it; a negative budget never reads a row group in one read).
func (f *FileReader) lookupKeys(ctx context.Context, keys [][]byte, budget int64) ([]Record, error) {
	want, check, err := f.projection(ReadOptions{})
	if err != nil {
		return nil, err
	}
	var out []Record
	for i := range f.groups {
		var in [][]byte
		for _, k := range keys {
			if f.groupMayContain(i, k) {
				in = append(in, k)
			}
		}
		if len(in) == 0 {
			continue
		}
		recs, ok, err := f.readGroupPaged(ctx, i, in, want, check, budget)
		if err != nil {
			return nil, err
		}
		if !ok {
			if recs, err = f.readGroupKeys(ctx, i, in); err != nil {
				return nil, err
			}
		}
		out = append(out, recs...)
	}
	return out, nil
}

// readGroupKeys is LookupKeys of row group i by reading it whole.
func (f *FileReader) readGroupKeys(ctx context.Context, i int, keys [][]byte) ([]Record, error) {
	var out []Record
	j := 0
	for rec, err := range f.GroupRecords(ctx, i) {
		if err != nil {
			return nil, err
		}
		for j < len(keys) && bytes.Compare(keys[j], rec.Key) < 0 {
			j++
		}
		if j == len(keys) {
			break
		}
		if bytes.Equal(keys[j], rec.Key) {
			out = append(out, rec)
		}
	}
	return out, nil
}

// readGroupPaged reads the records of keys in row group i by pages. ok is
// false when the row group cannot be read by pages.
func (f *FileReader) readGroupPaged(ctx context.Context, i int, keys [][]byte, want []bool, check bool, budget int64) (_ []Record, ok bool, err error) {
	for c := range f.cols {
		if f.cols[c].nested != nil {
			return nil, false, nil // nested columns: the row group is read whole
		}
	}
	kci, err := f.chunkIndex(i, 0, true)
	if err == errNoPageIndex {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	g := &f.groups[i]
	// The _key pages whose bounds admit a key.
	var kp []int
	for p := range kci.pages {
		lo, hi := kci.min[p], kci.max[p]
		for _, k := range keys {
			if (lo == nil || bytes.Compare(lo, k) <= 0) && (hi == nil || bytes.Compare(k, hi) <= 0) {
				kp = append(kp, p)
				break
			}
		}
	}
	if len(kp) == 0 {
		return nil, true, nil
	}
	whole, err := f.smallGroup(ctx, i, budget)
	if err != nil {
		return nil, false, err
	}
	// get returns the fetched bytes holding spans: the whole row group
	// when it was read, else a new read merging them within budget.
	get := func(spans []span, budget int64) (fetched, error) {
		if whole != nil && !slices.ContainsFunc(spans, func(s span) bool { _, ok := whole.at(s.off, s.end-s.off); return !ok }) {
			return whole, nil
		}
		return f.fetch(ctx, spans, budget)
	}
	keyRuns := runsOf(kp)
	var spans []span
	var keyBytes int64
	for _, r := range keyRuns {
		spans = append(spans, kci.pageSpan(r[0], r[1]))
		keyBytes += spans[len(spans)-1].end - spans[len(spans)-1].off
	}
	fs, err := get(spans, coalesceBudget)
	if err != nil {
		return nil, false, err
	}
	scratch := new(pageScratch)
	// rows: the rows holding a key, ascending, with their keys.
	var rows []int64
	var rowKeys [][]byte
	for _, r := range keyRuns {
		run, err := f.decodeRun(fs, i, 0, kci, r[0], r[1], scratch)
		if err == errPageFallback {
			return nil, false, nil
		}
		if err == nil {
			err = f.checkRunBounds(run, kci, i, 0, r[0], r[1])
		}
		if err != nil {
			return nil, false, err
		}
		f.pagesRead.Add(int64(r[1] - r[0] + 1))
		kv := &run.vals
		if kv.null != nil {
			return nil, false, fmt.Errorf("%w: row group %d: NULL in %s", types.ErrCorruption, i, colKey)
		}
		var prev []byte
		for p := r[0]; p <= r[1]; p++ {
			pf, pe := kci.pageRows(p)
			for row := pf; row < pe; row++ {
				k := kv.data[kv.offs[row-run.first]:kv.offs[row-run.first+1]]
				switch {
				case prev != nil && bytes.Compare(prev, k) > 0:
					return nil, false, fmt.Errorf("%w: row group %d page %d: keys out of order", types.ErrCorruption, i, p)
				case bytes.Compare(k, g.minKey) < 0 || bytes.Compare(k, g.maxKey) > 0:
					return nil, false, fmt.Errorf("%w: row group %d row %d: key outside the row group's key range", types.ErrCorruption, i, row)
				case kci.min[p] != nil && (bytes.Compare(k, kci.min[p]) < 0 || bytes.Compare(k, kci.max[p]) > 0):
					return nil, false, fmt.Errorf("%w: row group %d row %d: key outside its page's bounds in the column index", types.ErrCorruption, i, row)
				}
				prev = k
				if _, found := slices.BinarySearchFunc(keys, k, bytes.Compare); found {
					rows = append(rows, row)
					rowKeys = append(rowKeys, k)
				}
			}
		}
	}
	if len(rows) == 0 {
		return nil, true, nil
	}
	// The other columns: the pages holding the rows, and dictionaries.
	cols := []int{1, 2}
	for c, rc := range f.cols {
		if want[c] && rc.file >= 0 && !slices.Contains(cols, rc.file) {
			cols = append(cols, rc.file)
		}
	}
	type colPlan struct {
		ci   *chunkIndex
		runs [][2]int
	}
	plans := make([]colPlan, len(cols))
	spans = spans[:0]
	for n, col := range cols {
		ci, err := f.chunkIndex(i, col, true)
		if err == errNoPageIndex {
			return nil, false, nil
		}
		if err != nil {
			return nil, false, err
		}
		var pages []int
		for _, row := range rows {
			if p := ci.pageOf(row); len(pages) == 0 || pages[len(pages)-1] != p {
				pages = append(pages, p)
			}
		}
		plans[n] = colPlan{ci: ci, runs: runsOf(pages)}
		for _, r := range plans[n].runs {
			spans = append(spans, ci.pageSpan(r[0], r[1]))
		}
		if ci.dictLen > 0 {
			spans = append(spans, span{ci.dictOff, ci.dictOff + ci.dictLen})
		}
	}
	// The value pages in one read when their span fits what the budget
	// leaves after the _key pages.
	if fs, err = get(spans, max(coalesceBudget, budget-keyBytes)); err != nil {
		return nil, false, err
	}
	decoded := make(map[int][]*pageRun, len(cols))
	for n, col := range cols {
		for _, r := range plans[n].runs {
			run, err := f.decodeRun(fs, i, col, plans[n].ci, r[0], r[1], scratch)
			if err == errPageFallback {
				return nil, false, nil
			}
			if err == nil {
				err = f.checkRunBounds(run, plans[n].ci, i, col, r[0], r[1])
			}
			if err != nil {
				return nil, false, err
			}
			f.pagesRead.Add(int64(r[1] - r[0] + 1))
			decoded[col] = append(decoded[col], run)
		}
		if plans[n].ci.dictLen > 0 {
			f.pagesRead.Add(1) // decoded with each run, read once
		}
	}
	// value finds row in the decoded runs of col.
	// Every needed page is decoded above; the empty colVals only guards
	// against a bug here.
	var none colVals
	value := func(col int, row int64) (*colVals, int) {
		for _, run := range decoded[col] {
			if row >= run.first && row < run.first+int64(run.vals.rows) {
				return &run.vals, int(row - run.first)
			}
		}
		return &none, -1
	}
	out := make([]Record, 0, len(rows))
	var scratchKey []byte
	for n, row := range rows {
		sv, sr := value(1, row)
		tv, tr := value(2, row)
		if sr < 0 || tr < 0 {
			return nil, false, fmt.Errorf("row group %d row %d: page not decoded", i, row)
		}
		if sv.null != nil || tv.null != nil {
			return nil, false, fmt.Errorf("%w: row group %d: NULL in a hidden column", types.ErrCorruption, i)
		}
		kind := tv.i32[tr]
		if kind&^(kindResetBit|3) != 0 {
			return nil, false, fmt.Errorf("%w: row group %d row %d: bad %s value %d", types.ErrCorruption, i, row, colKind, kind)
		}
		rec := Record{Key: bytes.Clone(rowKeys[n]), Seq: sv.i64[sr] + f.seqBase, Kind: types.RowKind(kind & 3),
			Reset: kind&kindResetBit != 0, Merged: true, Row: make(types.Row, len(f.cols))}
		if n > 0 && rows[n-1] == row-1 && bytes.Equal(out[n-1].Key, rec.Key) && out[n-1].Seq > rec.Seq {
			return nil, false, fmt.Errorf("%w: records out of (key, seq) order in row group %d", types.ErrCorruption, i)
		}
		for c, rc := range f.cols {
			if !want[c] {
				continue
			}
			if rc.file < 0 {
				rec.Row[c] = cloneDefault(rc.def)
				continue
			}
			cv, r := value(rc.file, row)
			if r < 0 {
				return nil, false, fmt.Errorf("row group %d row %d: page not decoded", i, row)
			}
			if cv.null != nil && cv.null[r] {
				continue
			}
			rec.Row[c] = rc.value(cv, r)
		}
		if check {
			if scratchKey, err = types.EncodeRowKey(scratchKey[:0], rec.Row, f.keyIdx); err != nil || !bytes.Equal(scratchKey, rec.Key) {
				return nil, false, fmt.Errorf("%w: row group %d row %d: %s does not match the key columns", types.ErrCorruption, i, row, colKey)
			}
		}
		out = append(out, rec)
	}
	return out, true, nil
}

// smallGroup reads row group i in one read when it is at most budget
// bytes and the file is not in memory already, and checks its CRC-32C
// (the pages are still checked one by one when decoded); nil otherwise.
func (f *FileReader) smallGroup(ctx context.Context, i int, budget int64) (fetched, error) {
	g := &f.groups[i]
	if _, inMemory := f.r.(*BytesReader); inMemory || g.end-g.start > budget {
		return nil, nil
	}
	data, err := readRange(ctx, f.r, g.start, g.end-g.start, fmt.Sprintf("row group %d", i))
	if err != nil {
		return nil, err
	}
	f.bytesRead.Add(int64(len(data)))
	f.pageReads.Add(1)
	if got := crc32.Checksum(data, castagnoli); got != g.crc {
		return nil, fmt.Errorf("%w: checksum mismatch in row group %d (bytes %d..%d): stored %08x, computed %08x", types.ErrCorruption, i, g.start, g.end, g.crc, got)
	}
	return fetched{{off: g.start, data: data}}, nil
}

// checkRunBounds is checkBounds of a run of column col of row group i,
// its error wrapping types.ErrCorruption.
func (f *FileReader) checkRunBounds(run *pageRun, ci *chunkIndex, i, col, a, b int) error {
	if err := checkBounds(run, ci, a, b); err != nil {
		if errors.Is(err, types.ErrCorruption) {
			return err
		}
		return fmt.Errorf("%w: row group %d column %s: %v", types.ErrCorruption, i, f.file.Root().Columns()[col].Name(), err)
	}
	return nil
}
