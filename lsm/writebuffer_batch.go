package lsm

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"sync"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/siltdb/silt/types"
)

// LastWriteWins is implemented by a Merger whose merge of a key's records
// is its last record (highest Seq, the one added last among equal Seqs)
// with Kind Delete when that record is not +I/+U and Reset cleared, when
// LastWriteWins returns true. A write buffer then flushes change-batch
// rows without building Records for them.
type LastWriteWins interface {
	LastWriteWins() bool
}

// BatchRows are rows of one change batch that belong to one write
// buffer: the batch's columns in schema order (without the row-kind
// column) and, per row in write order, its row number, key, Seq and kind.
// The arrays must have the Arrow types types.ArrowType gives for the
// columns and the rows must have passed the writer's checks.
type BatchRows struct {
	Cols  []arrow.Array
	Rows  []int32
	Keys  [][]byte
	Seqs  []int64
	Kinds []types.RowKind
}

// batchRow is one buffered change-batch row.
type batchRow struct {
	batch int32 // index into WriteBuffer.batches
	row   int32
	// recsBefore is how many records were added before this row, which
	// orders it among them for equal Seqs.
	recsBefore int32
	kind       types.RowKind
	key        []byte
	seq        int64
}

// BatchRowBytes is what a write buffer holds for one change-batch row
// besides the row's key and its share of the batch's arrays: a caller's
// approxBytes for AddBatch is this, plus the key, plus the row's values
// as the arrays hold them.
const BatchRowBytes = int64(unsafe.Sizeof(batchRow{}))

// AddBatch appends change-batch rows; approxBytes is what they count
// towards ApproxBytes. The buffer retains the arrays until it is flushed
// (and the flushed Run released) or Released, and takes ownership of the
// keys.
func (b *WriteBuffer) AddBatch(br BatchRows, approxBytes int64) {
	if len(br.Rows) == 0 {
		return
	}
	for _, a := range br.Cols {
		a.Retain()
	}
	if b.brows == nil {
		if s, ok := batchRowSlices.Get().([]batchRow); ok {
			b.brows = s
		}
	}
	bi := int32(len(b.batches))
	b.batches = append(b.batches, br.Cols)
	for i, r := range br.Rows {
		b.brows = append(b.brows, batchRow{batch: bi, row: r, recsBefore: int32(len(b.recs)), kind: br.Kinds[i], key: br.Keys[i], seq: br.Seqs[i]})
	}
	b.bytes += approxBytes
}

// Release drops the buffer's content, releasing the arrays of its batches.
func (b *WriteBuffer) Release() {
	releaseArrays(b.batches)
	b.recs, b.brows, b.batches, b.bytes = nil, nil, nil, 0
}

func releaseArrays(batches [][]arrow.Array) {
	for _, cols := range batches {
		for _, a := range cols {
			a.Release()
		}
	}
}

// Run is what a write buffer flushed: one merged record or row per key,
// sorted by key. Write it with WriteRun and Release it afterwards.
type Run struct {
	// Records holds the merged records when the run is not columnar.
	Records []Record
	// rows, when set, are the merged rows of a columnar flush: a record
	// of recs (rec >= 0) or a change-batch row.
	rows    []runRow
	recs    []Record
	batches [][]arrow.Array
}

// runRow is one row of a columnar run.
type runRow struct {
	rec   int32 // index into Run.recs, or -1 for a batch row
	batch int32
	row   int32
	kind  types.RowKind
	key   []byte
	seq   int64
}

// Len is the number of rows of the run.
func (r *Run) Len() int {
	if r.rows != nil {
		return len(r.rows)
	}
	return len(r.Records)
}

// Release releases the arrays the run holds and its rows (their memory
// goes to the next flush); the run is empty afterwards.
func (r *Run) Release() {
	releaseArrays(r.batches)
	r.batches = nil
	if r.rows != nil {
		clear(r.rows) // no references to keys
		runRowSlices.Put(r.rows[:0])
		r.rows = nil
	}
}

// FlushRun empties the buffer into a Run. Change-batch rows merged by a
// LastWriteWins merger stay columnar; otherwise they are converted to
// records and merged with Flush.
func (b *WriteBuffer) FlushRun(m Merger) *Run {
	if len(b.brows) == 0 {
		return &Run{Records: b.Flush(m)}
	}
	if lw, ok := m.(LastWriteWins); !ok || !lw.LastWriteWins() {
		return &Run{Records: b.Flush(m)}
	}
	recs, brows, batches := b.recs, b.brows, b.batches
	b.recs, b.brows, b.batches, b.bytes = nil, nil, nil, 0
	// Sort positions: records first (0..len(recs)), then batch rows.
	nr := len(recs)
	sc := flushScratches.Get().(*flushScratch)
	sc.grow(nr + len(brows))
	defer sc.done()
	ents, keys, seqs := sc.ents, sc.keys, sc.seqs
	for i := range recs {
		keys[i], seqs[i] = recs[i].Key, recs[i].Seq
	}
	for i := range brows {
		keys[nr+i], seqs[nr+i] = brows[i].key, brows[i].seq
	}
	keyOf := func(x int32) ([]byte, int64) { return keys[x], seqs[x] }
	// addOrder compares the add positions of two entries.
	addOrder := func(x, y int32) int {
		xr, yr := int(x) < nr, int(y) < nr
		switch {
		case xr == yr:
			return cmp.Compare(x, y)
		case xr: // record x vs batch row y
			if x < brows[int(y)-nr].recsBefore {
				return -1
			}
			return 1
		default:
			if y < brows[int(x)-nr].recsBefore {
				return 1
			}
			return -1
		}
	}
	// Most keys differ in their first 16 bytes: compare those as two
	// integers, held in the sorted entries (no lookup per comparison), and
	// the whole keys only when they are equal.
	for i, k := range keys {
		p := keyPrefix(k)
		ents[i] = sortEntry{p[0], p[1], int32(i)}
	}
	sortEntries(ents, sc.tmp, func(ex, ey sortEntry) int {
		if ex.p0 != ey.p0 {
			return cmp.Compare(ex.p0, ey.p0)
		}
		if ex.p1 != ey.p1 {
			return cmp.Compare(ex.p1, ey.p1)
		}
		x, y := ex.i, ey.i
		if c := bytes.Compare(keys[x], keys[y]); c != 0 {
			return c
		}
		if c := cmp.Compare(seqs[x], seqs[y]); c != 0 {
			return c
		}
		return addOrder(x, y)
	})
	rows, _ := runRowSlices.Get().([]runRow)
	if cap(rows) < len(ents) {
		rows = make([]runRow, 0, len(ents))
	}
	run := &Run{recs: recs, batches: batches, rows: rows}
	for i := 0; i < len(ents); {
		ki, _ := keyOf(ents[i].i)
		j := i + 1
		for j < len(ents) {
			kj, _ := keyOf(ents[j].i)
			if !bytes.Equal(ki, kj) {
				break
			}
			j++
		}
		last := ents[j-1].i // the last write wins
		var r runRow
		if int(last) < nr {
			rec := &recs[last]
			r = runRow{rec: last, kind: rec.Kind, key: rec.Key, seq: rec.Seq}
		} else {
			br := &brows[int(last)-nr]
			r = runRow{rec: -1, batch: br.batch, row: br.row, kind: br.kind, key: br.key, seq: br.seq}
		}
		if !r.kind.IsAdd() {
			r.kind = types.Delete
		}
		run.rows = append(run.rows, r)
		i = j
	}
	// Another buffer's next rows may go into the flushed rows' memory
	// (the run holds none of it).
	clear(brows)
	batchRowSlices.Put(brows[:0])
	return run
}

// flushScratches, batchRowSlices and runRowSlices hold memory of
// finished flushes for the next ones of any buffer (a sync.Pool lets the
// garbage collector reclaim what stays unused): the sort state, the
// buffered rows and the rows of released runs.
var (
	flushScratches = sync.Pool{New: func() any { return new(flushScratch) }}
	batchRowSlices sync.Pool
	runRowSlices   sync.Pool
)

// flushScratch is the sort state of a columnar flush, reused by the
// buffer's next flush: positions with their key prefixes (and as many
// for the radix sort's scatter), keys and Seqs.
type flushScratch struct {
	ents, tmp []sortEntry
	keys      [][]byte
	seqs      []int64
}

// grow sizes the scratch for n positions.
func (s *flushScratch) grow(n int) {
	if cap(s.ents) < n {
		s.ents, s.tmp, s.keys, s.seqs = make([]sortEntry, n), make([]sortEntry, n), make([][]byte, n), make([]int64, n)
	}
	s.ents, s.tmp, s.keys, s.seqs = s.ents[:n], s.tmp[:n], s.keys[:n], s.seqs[:n]
}

// done drops the scratch's references to keys and returns it to the
// pool.
func (s *flushScratch) done() {
	clear(s.keys)
	flushScratches.Put(s)
}

// sortEntry is a position to sort with its key's prefix (keyPrefix).
type sortEntry struct {
	p0, p1 uint64
	i      int32
}

// keyPrefix is the first 16 bytes of k (zero-padded) as two big-endian
// integers: keys whose prefixes differ compare as their prefixes do.
func keyPrefix(k []byte) [2]uint64 {
	var b [16]byte
	copy(b[:], k)
	return [2]uint64{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}
}

// mergedRecords returns the buffer's records with its batch rows converted
// to records, in add order.
func (b *WriteBuffer) mergedRecords() []Record {
	out := make([]Record, 0, len(b.recs)+len(b.brows))
	ri := 0
	for _, br := range b.brows {
		for ri < int(br.recsBefore) {
			out = append(out, b.recs[ri])
			ri++
		}
		cols := b.batches[br.batch]
		row := make(types.Row, len(cols))
		for c, a := range cols {
			row[c] = types.ValueAt(a, int(br.row))
		}
		out = append(out, Record{Key: br.key, Seq: br.seq, Kind: br.kind, Row: row})
	}
	return append(out, b.recs[ri:]...)
}

// Restore puts a flushed run back into the buffer (its write failed), to
// be flushed again. The buffer takes over the run's arrays.
func (b *WriteBuffer) Restore(r *Run) {
	if r.rows == nil {
		for _, rec := range r.Records {
			b.Add(rec)
		}
		return
	}
	for _, rr := range r.rows {
		if rr.rec >= 0 {
			rec := r.recs[rr.rec]
			rec.Kind = rr.kind
			b.Add(rec)
			continue
		}
		cols := r.batches[rr.batch]
		for _, a := range cols {
			a.Retain()
		}
		b.AddBatch(BatchRows{Cols: cols, Rows: []int32{rr.row}, Keys: [][]byte{rr.key}, Seqs: []int64{rr.seq}, Kinds: []types.RowKind{rr.kind}}, 0)
		for _, a := range cols {
			a.Release()
		}
	}
	r.Release()
}
