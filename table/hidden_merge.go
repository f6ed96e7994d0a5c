package table

import (
	"bytes"
	"cmp"
	"container/heap"
	"context"
	"fmt"

	"github.com/siltdb/silt/lsm"
	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/types"
)

// The merge of HiddenRows: one bucket's files merged as a scan merges them,
// but over the hidden columns only, yielding for each file the positions
// of the records the merge does not return.
//
// The scan hands each key's records, in ascending (seq, file order), to the
// merge engine and keeps the result when it is +I/+U. Deduplicate and
// first-row return one of the records they are given. To learn which one,
// the records handed to the engine here carry their rank in that order as
// their sequence number: the engines compare sequence numbers only to
// order records, and ranks order them exactly as (seq, file order) does,
// so the engine picks the same record, and the returned sequence number
// names it. The engine itself decides, so its rules (ties, sequence.field,
// first-row ignoring deletes) are never restated here.

// hiddenConfig is what a bucket's hidden rows depend on besides its files.
type hiddenConfig struct {
	// id names the table's root, schema version, merge engine, sequence
	// field and TTL column: part of the cache key.
	id       string
	seqField int // sequence.field position, -1 without
	ttlField int // record TTL's time column position, -1 without
	read     lsm.ReadOptions
}

func (t *Table) hiddenConfig(ttlField int) hiddenConfig {
	seqField := -1
	switch e := t.merger.(type) {
	case *deduplicate:
		seqField = e.seqField
	case *firstRow:
		seqField = e.seqField
	}
	cols := appendField(appendField([]int{}, seqField), ttlField)
	return hiddenConfig{
		id:       fmt.Sprintf("%s\x00%d\x00%T\x00%d\x00%d", t.root, t.schema.ID, t.merger, seqField, ttlField),
		seqField: seqField,
		ttlField: ttlField,
		read:     lsm.ReadOptions{Columns: cols},
	}
}

// bucketResult is the answer for one bucket's files.
type bucketResult struct {
	// hidden maps a file's path to the positions the merge drops,
	// ascending; files with none are absent.
	hidden map[string][]int64
	// winners maps a file's path to its visible rows whose TTL time value
	// is not NULL (only with record TTL), ascending by position.
	winners map[string][]timedPos
	// order, when not nil, is the files' paths in the order the answer
	// was computed for: two files hold a record of the same key with the
	// same sequence number, and the file order breaks the tie.
	order []string
	// bytes estimates the memory the result holds.
	bytes int64
}

// timedPos is a visible row and its TTL time value.
type timedPos struct {
	pos int64
	at  types.Value
}

// bucketHidden returns the answer for one bucket, from the cache when its
// files were seen before.
func (t *Table) bucketHidden(ctx context.Context, g fileGroup, cfg hiddenConfig) (*bucketResult, error) {
	key := hiddenCacheKey(cfg, g)
	if r := t.hidden.get(key, g.files); r != nil {
		return r, nil
	}
	r, err := t.computeHidden(ctx, g.files, cfg)
	if err != nil {
		return nil, err
	}
	t.hidden.put(key, r)
	return r, nil
}

// computeHidden merges the hidden columns of one bucket's files (in the
// order a scan merges them).
func (t *Table) computeHidden(ctx context.Context, files []manifest.DataFile, cfg hiddenConfig) (*bucketResult, error) {
	frs, err := t.openFiles(ctx, files)
	if err != nil {
		return nil, err
	}
	h := make(cursorHeap, 0, len(frs))
	for i, fr := range frs {
		c := &hiddenCursor{fr: fr, src: i, read: cfg.read}
		ok, err := c.advance(ctx)
		if err != nil {
			return nil, fmt.Errorf("data file %s: %w", files[i].Path, err)
		}
		if ok {
			h = append(h, c)
		}
	}
	heap.Init(&h)
	hidden := make([][]int64, len(files))
	var winners [][]timedPos
	if cfg.ttlField >= 0 {
		winners = make([][]timedPos, len(files))
	}
	tie := false
	var key []byte
	var group []member
	var recs []lsm.Record
	for n := 0; len(h) > 0; n++ {
		if n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		key = append(key[:0], h[0].b.Key(h[0].r)...)
		group = group[:0]
		for len(h) > 0 && bytes.Equal(h[0].b.Key(h[0].r), key) {
			c := h[0]
			m := member{src: c.src, pos: c.pos, seq: c.b.Seq(c.r), kind: c.b.Kind(c.r), b: c.b, r: c.r}
			if k := len(group); k > 0 && group[k-1].seq == m.seq && group[k-1].src != m.src {
				tie = true
			}
			group = append(group, m)
			ok, err := c.advance(ctx)
			if err != nil {
				return nil, fmt.Errorf("data file %s: %w", files[c.src].Path, err)
			}
			if ok {
				heap.Fix(&h, 0)
			} else {
				heap.Pop(&h)
			}
		}
		var w int
		w, recs, err = t.pickWinner(group, key, cfg.seqField, recs)
		if err != nil {
			return nil, err
		}
		for i, m := range group {
			if i != w {
				hidden[m.src] = append(hidden[m.src], m.pos)
			}
		}
		if w >= 0 && winners != nil {
			m := group[w]
			if at := types.ValueAt(m.b.Column(cfg.ttlField), m.r); at != nil {
				winners[m.src] = append(winners[m.src], timedPos{m.pos, at})
			}
		}
	}
	r := &bucketResult{hidden: map[string][]int64{}, bytes: 256}
	for i, pos := range hidden {
		if len(pos) > 0 {
			r.hidden[files[i].Path] = pos
			r.bytes += int64(64 + len(files[i].Path) + 8*cap(pos))
		}
	}
	if winners != nil {
		r.winners = map[string][]timedPos{}
		for i, ws := range winners {
			if len(ws) > 0 {
				r.winners[files[i].Path] = ws
				r.bytes += int64(64 + len(files[i].Path) + 40*cap(ws))
			}
		}
	}
	if tie {
		for _, f := range files {
			r.order = append(r.order, f.Path)
			r.bytes += int64(16 + len(f.Path))
		}
	}
	return r, nil
}

// member is one record of the key being merged.
type member struct {
	src  int   // the file's index in the bucket
	pos  int64 // the record's position in the file
	seq  int64
	kind types.RowKind
	b    *lsm.Batch // the decoded row group holding the record, row r
	r    int
}

// pickWinner returns the index in group of the record the scan returns
// for the key, or -1 when it returns none. recs is scratch space, returned
// for reuse.
func (t *Table) pickWinner(group []member, key []byte, seqField int, recs []lsm.Record) (int, []lsm.Record, error) {
	if len(group) == 1 { // as the merge: one record is kept iff +I/+U
		if group[0].kind.IsAdd() {
			return 0, recs, nil
		}
		return -1, recs, nil
	}
	recs = recs[:0]
	for i, m := range group {
		rec := lsm.Record{Key: key, Seq: int64(i), Kind: m.kind, Merged: true}
		if seqField >= 0 {
			rec.Row = make(types.Row, seqField+1)
			rec.Row[seqField] = types.ValueAt(m.b.Column(seqField), m.r)
		}
		recs = append(recs, rec)
	}
	res := t.merger.Merge(recs)
	if !res.Kind.IsAdd() {
		return -1, recs, nil
	}
	if res.Seq < 0 || res.Seq >= int64(len(group)) {
		return -1, recs, fmt.Errorf("%w: merge engine %T returned sequence %d for %d records: it must return one of them", types.ErrInvalid, t.merger, res.Seq, len(group))
	}
	return int(res.Seq), recs, nil
}

// hiddenCursor walks one data file's records in file order, one decoded
// row group (hidden columns and cfg.read's columns) at a time.
type hiddenCursor struct {
	fr    *lsm.FileReader
	src   int
	read  lsm.ReadOptions
	group int        // next row group to decode
	b     *lsm.Batch // current row group; nil before the first and after the last
	r     int        // current row of b
	pos   int64      // position in the file of row r

	lastKey []byte // last record of the previous row group
	lastSeq int64
	hasLast bool
}

// advance moves to the next record; false at the end of the file.
func (c *hiddenCursor) advance(ctx context.Context) (bool, error) {
	if c.b != nil {
		c.r++
		c.pos++
		if c.r < c.b.Len() {
			return true, nil
		}
		n := c.b.Len() - 1
		c.lastKey, c.lastSeq, c.hasLast = append(c.lastKey[:0], c.b.Key(n)...), c.b.Seq(n), true
		c.b = nil
	}
	for c.group < c.fr.NumRowGroups() {
		b, err := c.fr.DecodeBatch(ctx, c.group, c.read)
		c.group++
		if err != nil {
			return false, err
		}
		if b.Len() == 0 {
			continue
		}
		if c.hasLast {
			if k := bytes.Compare(c.lastKey, b.Key(0)); k > 0 || k == 0 && c.lastSeq > b.Seq(0) {
				return false, fmt.Errorf("%w: row group %d starts before the end of the previous one in (key, seq) order", types.ErrCorruption, c.group-1)
			}
		}
		c.b, c.r = b, 0
		return true, nil
	}
	return false, nil
}

// cursorHeap orders cursors by their current (key, seq, file order), as
// the scan's merge does.
type cursorHeap []*hiddenCursor

func (h cursorHeap) Len() int { return len(h) }
func (h cursorHeap) Less(i, j int) bool {
	a, b := h[i], h[j]
	if c := bytes.Compare(a.b.Key(a.r), b.b.Key(b.r)); c != 0 {
		return c < 0
	}
	if c := cmp.Compare(a.b.Seq(a.r), b.b.Seq(b.r)); c != 0 {
		return c < 0
	}
	return a.src < b.src
}
func (h cursorHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *cursorHeap) Push(x any)   { *h = append(*h, x.(*hiddenCursor)) }
func (h *cursorHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
