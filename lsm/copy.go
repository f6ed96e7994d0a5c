package lsm

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"iter"

	"github.com/parquet-go/parquet-go"
	"github.com/siltdb/silt/types"
)

// Row-group copying. A compaction often merges a file with inputs that
// touch only part of its key range; its other row groups would come out of
// the merge unchanged. CopyGroup loads such a row group as verified bytes,
// and WritePieces writes it into an output file with
// (*parquet.Writer).WriteRowGroup, whose copy path splices the compressed
// pages in verbatim (no decompression, decoding, re-encoding or
// compression) and copies their statistics, page index and the _key bloom
// filter. When parquet-go cannot copy a chunk verbatim (a different codec or
// encoding) it re-encodes the row group column by column, still without
// materialising rows; EncodedFile tells the two apart by comparing the
// output row group's checksum with the source's.

// GroupInfo describes one row group of a file, from its verified footer.
type GroupInfo struct {
	Rows int64
	// MinKey and MaxKey are the _key statistics of the row group.
	MinKey, MaxKey []byte
}

// Group returns the description of row group i (0 <= i < NumRowGroups).
func (f *FileReader) Group(i int) GroupInfo {
	g := &f.groups[i]
	return GroupInfo{Rows: g.rows, MinKey: g.minKey, MaxKey: g.maxKey}
}

// GroupRecords yields the records of row group i, decoded, in file order.
func (f *FileReader) GroupRecords(ctx context.Context, i int) iter.Seq2[Record, error] {
	return func(yield func(Record, error) bool) {
		ra, err := f.loadGroup(ctx, i)
		if err != nil {
			yield(Record{}, err)
			return
		}
		stopped := false
		var prev Record
		first := true
		err = f.readRows(ctx, ra, i, 0, f.groups[i].rows, func(r Record) error {
			if !first && compareRecords(&prev, &r) > 0 {
				return fmt.Errorf("%w: records out of (key, seq) order in row group %d", types.ErrCorruption, i)
			}
			first, prev = false, r
			if !yield(r, nil) {
				stopped = true
				return errStop
			}
			return nil
		})
		if err != nil && !stopped {
			yield(Record{}, err)
		}
	}
}

// GroupCopy is one row group of a data file held as verified bytes, ready
// to be written into another file by WritePieces without decoding its rows.
// It holds the row group's compressed bytes until it is dropped.
type GroupCopy struct {
	f       *FileReader
	group   int
	data    sliceReaderAt
	crc     uint32
	rows    int64
	deletes int64
	minSeq  int64 // stored, before the file's SeqBase
	maxSeq  int64
	pf      *parquet.File // opened on first use over data and the tail
}

// CopyGroup reads row group i and verifies its checksum. Only when
// mayHaveDeletes (the file's manifest entry counts -U/-D records) is its
// _kind column decoded, to count them; the _seq range comes from the column
// statistics (the _seq column is decoded only if they are missing).
func (f *FileReader) CopyGroup(ctx context.Context, i int, mayHaveDeletes bool) (_ *GroupCopy, err error) {
	if i < 0 || i >= len(f.groups) {
		return nil, fmt.Errorf("%w: row group %d of %d", types.ErrInvalid, i, len(f.groups))
	}
	ra, err := f.loadGroup(ctx, i)
	if err != nil {
		return nil, err
	}
	g := &GroupCopy{f: f, group: i, data: ra, crc: f.groups[i].crc, rows: f.groups[i].rows}
	defer recoverCorruption(&err, i)
	// Copied pages are spliced in unread; parquet-go decodes them only if
	// it must re-encode the group, so their headers are checked here and
	// their contents whenever the output file is read.
	for c := range f.leaves {
		if err := f.checkChunk(ra, i, c, false); err != nil {
			return nil, err
		}
	}
	st := &f.file.Metadata().RowGroups[i].Columns[1].MetaData.Statistics
	if len(st.MinValue) == 8 && len(st.MaxValue) == 8 {
		g.minSeq = int64(binary.LittleEndian.Uint64(st.MinValue))
		g.maxSeq = int64(binary.LittleEndian.Uint64(st.MaxValue))
	} else if err := g.scan(1, func(v parquet.Value, first bool) {
		if first {
			g.minSeq, g.maxSeq = v.Int64(), v.Int64()
		}
		g.minSeq, g.maxSeq = min(g.minSeq, v.Int64()), max(g.maxSeq, v.Int64())
	}); err != nil {
		return nil, err
	}
	if g.minSeq > g.maxSeq {
		return nil, fmt.Errorf("%w: row group %d has a bad %s range", types.ErrCorruption, i, colSeq)
	}
	if mayHaveDeletes {
		if err := g.scan(2, func(v parquet.Value, _ bool) {
			if !types.RowKind(v.Int32() & 3).IsAdd() {
				g.deletes++
			}
		}); err != nil {
			return nil, err
		}
	}
	return g, nil
}

// scan decodes one column of the row group.
func (g *GroupCopy) scan(col int, fn func(v parquet.Value, first bool)) error {
	c, err := g.f.cursor(g.data, g.group, col)
	if err != nil {
		return err
	}
	defer c.close()
	for row := int64(0); row < g.rows; row++ {
		v, err := c.next()
		if err != nil {
			return err
		}
		fn(v, row == 0)
	}
	return c.atEnd()
}

// Rows is the number of records in the row group.
func (g *GroupCopy) Rows() int64 { return g.rows }

// Size is the number of compressed bytes the row group holds.
func (g *GroupCopy) Size() int64 { return int64(len(g.data.data)) }

// MinKey and MaxKey are the row group's key range.
func (g *GroupCopy) MinKey() []byte { return g.f.groups[g.group].minKey }

// MaxKey is the largest key of the row group.
func (g *GroupCopy) MaxKey() []byte { return g.f.groups[g.group].maxKey }

// SeqBase is the sequence base of the file the row group comes from.
func (g *GroupCopy) SeqBase() int64 { return g.f.seqBase }

// records decodes the row group (used when it cannot be copied).
func (g *GroupCopy) records(ctx context.Context) ([]Record, error) {
	recs := make([]Record, 0, g.rows)
	err := g.f.readRows(ctx, g.data, g.group, 0, g.rows, func(r Record) error {
		recs = append(recs, r)
		return nil
	})
	return recs, err
}

// rowGroup opens the source as a parquet.File whose reader serves only the
// verified row group and tail, and returns the row group.
func (g *GroupCopy) rowGroup() (_ parquet.RowGroup, err error) {
	if g.pf == nil {
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("%w: malformed footer: %v", types.ErrCorruption, p)
			}
		}()
		r := twoRanges{g.data, g.f.tail}
		pf, err := parquet.OpenFile(r, g.f.size,
			parquet.SkipMagicBytes(true), parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
		if err != nil {
			return nil, fmt.Errorf("%w: %v", types.ErrCorruption, err)
		}
		g.pf = pf
	}
	return g.pf.RowGroups()[g.group], nil
}

// twoRanges serves reads from two verified byte ranges; a read must lie
// within one of them.
type twoRanges [2]sliceReaderAt

func (t twoRanges) ReadAt(p []byte, off int64) (int, error) {
	for _, r := range t {
		if off >= r.off && off+int64(len(p)) <= r.off+int64(len(r.data)) {
			return r.ReadAt(p, off)
		}
	}
	if r := t[1]; off >= r.off && off < r.off+int64(len(r.data)) {
		return r.ReadAt(p, off) // a read past the end of the file
	}
	return 0, fmt.Errorf("%w: read of %d bytes at offset %d outside verified ranges", types.ErrCorruption, len(p), off)
}

var _ io.ReaderAt = twoRanges{}

// sameKeyAcross reports whether two record slices share a key at their
// boundary.
func sameKeyAcross(a, b []Record) bool {
	return len(a) > 0 && len(b) > 0 && bytes.Equal(a[len(a)-1].Key, b[0].Key)
}
