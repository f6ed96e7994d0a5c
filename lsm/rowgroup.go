package lsm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"io"

	"github.com/parquet-go/parquet-go"
	"github.com/siltdb/silt/types"
)

// loadGroup reads row group i and verifies its checksum. The returned reader
// serves only the verified bytes.
func (f *FileReader) loadGroup(ctx context.Context, i int) (sliceReaderAt, error) {
	g := &f.groups[i]
	data, err := readRange(ctx, f.r, g.start, g.end-g.start, fmt.Sprintf("row group %d", i))
	if err != nil {
		return sliceReaderAt{}, err
	}
	f.rowGroupsRead.Add(1)
	f.bytesRead.Add(int64(len(data)))
	if got := crc32.Checksum(data, castagnoli); got != g.crc {
		return sliceReaderAt{}, fmt.Errorf("%w: checksum mismatch in row group %d (bytes %d..%d): stored %08x, computed %08x", types.ErrCorruption, i, g.start, g.end, g.crc, got)
	}
	return sliceReaderAt{off: g.start, data: data}, nil
}

// keyRange decodes the _key column of row group i and returns the row range
// [lo, hi) holding key.
func (f *FileReader) keyRange(ra sliceReaderAt, i int, key []byte) (lo, hi int64, err error) {
	defer recoverCorruption(&err, i)
	c, err := f.cursor(ra, i, 0)
	if err != nil {
		return 0, 0, err
	}
	defer c.close()
	lo = -1
	var prev []byte
	for row := int64(0); row < f.groups[i].rows; row++ {
		v, err := c.next()
		if err != nil {
			return 0, 0, err
		}
		k := v.ByteArray()
		if prev != nil && bytes.Compare(prev, k) > 0 {
			return 0, 0, fmt.Errorf("%w: row group %d: keys out of order", types.ErrCorruption, i)
		}
		prev = append(prev[:0], k...)
		switch cmp := bytes.Compare(k, key); {
		case cmp == 0 && lo < 0:
			lo = row
		case cmp > 0:
			if lo < 0 {
				return 0, 0, nil
			}
			return lo, row, nil
		}
	}
	if lo < 0 {
		return 0, 0, nil
	}
	return lo, f.groups[i].rows, nil
}

// readRows decodes rows [from, to) of row group i and calls emit for each.
// emit's error stops the read and is returned.
func (f *FileReader) readRows(ctx context.Context, ra sliceReaderAt, i int, from, to int64, emit func(Record) error) (err error) {
	g := &f.groups[i]
	if from == 0 && to == g.rows {
		return f.readGroupColumnar(ctx, ra, i, emit)
	}
	defer recoverCorruption(&err, i)
	hidden := make([]*columnCursor, numHidden)
	for c := range hidden {
		if hidden[c], err = f.cursor(ra, i, c); err != nil {
			return err
		}
		defer hidden[c].close()
		if err := hidden[c].seek(from); err != nil {
			return err
		}
	}
	fields := make([]*columnCursor, len(f.cols))
	nested := make([][]types.Value, len(f.cols)) // nested columns, decoded whole
	for c, rc := range f.cols {
		if rc.file < 0 {
			continue
		}
		if rc.nested != nil {
			if nested[c], err = f.decodeNested(ra, i, rc.nested, rc.to); err != nil {
				return err
			}
			continue
		}
		if fields[c], err = f.cursor(ra, i, rc.file); err != nil {
			return err
		}
		defer fields[c].close()
		if err := fields[c].seek(from); err != nil {
			return err
		}
	}
	var scratch []byte
	for row := from; row < to; row++ {
		if row%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		kv, err := hidden[0].next()
		if err != nil {
			return err
		}
		sv, err := hidden[1].next()
		if err != nil {
			return err
		}
		tv, err := hidden[2].next()
		if err != nil {
			return err
		}
		rec := Record{Key: bytes.Clone(kv.ByteArray()), Seq: sv.Int64() + f.seqBase, Merged: true}
		kind := tv.Int32()
		if kind&^(kindResetBit|3) != 0 {
			return fmt.Errorf("%w: row group %d row %d: bad %s value %d", types.ErrCorruption, i, row, colKind, kind)
		}
		rec.Kind, rec.Reset = types.RowKind(kind&3), kind&kindResetBit != 0
		if bytes.Compare(rec.Key, g.minKey) < 0 || bytes.Compare(rec.Key, g.maxKey) > 0 {
			return fmt.Errorf("%w: row group %d row %d: key outside the row group's key range", types.ErrCorruption, i, row)
		}
		rec.Row = make(types.Row, len(f.cols))
		for c, cur := range fields {
			if nested[c] != nil {
				rec.Row[c] = nested[c][row]
				continue
			}
			if cur == nil {
				rec.Row[c] = cloneDefault(f.cols[c].def)
				continue
			}
			v, err := cur.next()
			if err != nil {
				return err
			}
			if !v.IsNull() {
				rec.Row[c] = f.cols[c].conv(v)
			}
		}
		if f.checkKeys {
			if scratch, err = types.EncodeRowKey(scratch[:0], rec.Row, f.keyIdx); err != nil || !bytes.Equal(scratch, rec.Key) {
				return fmt.Errorf("%w: row group %d row %d: %s does not match the key columns", types.ErrCorruption, i, row, colKey)
			}
		}
		if err := emit(rec); err != nil {
			return err
		}
	}
	if to == g.rows {
		for _, c := range append(hidden, fields...) {
			if c != nil {
				if err := c.atEnd(); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// readGroupColumnar is readRows of a whole row group through the columnar
// decoder (decode.go).
func (f *FileReader) readGroupColumnar(ctx context.Context, ra sliceReaderAt, i int, emit func(Record) error) error {
	want, check, err := f.projection(ReadOptions{})
	if err != nil {
		return err
	}
	b, err := f.decodeLoaded(ctx, ra, i, want, check)
	if err != nil {
		return err
	}
	var scratch []byte
	for r := 0; r < b.rows; r++ {
		if r%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		rec, err := f.record(b, r, &scratch)
		if err != nil {
			return err
		}
		if err := emit(rec); err != nil {
			return err
		}
	}
	return nil
}

// recoverCorruption turns a panic while decoding verified bytes (a bug in a
// decoder, or damage the checksums missed) into an error.
func recoverCorruption(err *error, group int) {
	if p := recover(); p != nil {
		*err = fmt.Errorf("%w: decoding row group %d: %v", types.ErrCorruption, group, p)
	}
}

// cursor opens column col of row group i over the verified bytes ra.
func (f *FileReader) cursor(ra sliceReaderAt, i, col int) (*columnCursor, error) {
	fcc, ok := f.file.RowGroups()[i].ColumnChunks()[col].(*parquet.FileColumnChunk)
	if !ok {
		return nil, fmt.Errorf("%w: unexpected column chunk type", types.ErrCorruption)
	}
	if err := f.checkChunk(ra, i, col, true); err != nil {
		return nil, err
	}
	return &columnCursor{pages: fcc.PagesFrom(ra), buf: make([]parquet.Value, 256), group: i, name: fcc.Node().String()}, nil
}

// columnCursor yields the values of one column chunk one at a time.
type columnCursor struct {
	pages parquet.Pages
	page  parquet.Page
	vals  parquet.ValueReader
	buf   []parquet.Value
	n, i  int
	group int
	name  string
}

func (c *columnCursor) corrupt(err error) error {
	if errors.Is(err, types.ErrCorruption) {
		return err
	}
	return fmt.Errorf("%w: row group %d column %s: %v", types.ErrCorruption, c.group, c.name, err)
}

// next returns the next value. Byte-array values are valid until the
// following call.
func (c *columnCursor) next() (parquet.Value, error) {
	for c.i >= c.n {
		if c.vals == nil {
			p, err := c.pages.ReadPage()
			if err == io.EOF {
				return parquet.Value{}, c.corrupt(errors.New("fewer values than rows"))
			}
			if err != nil {
				return parquet.Value{}, c.corrupt(err)
			}
			c.releasePage()
			c.page, c.vals = p, p.Values()
		}
		n, err := c.vals.ReadValues(c.buf)
		c.n, c.i = n, 0
		if err == io.EOF {
			c.vals = nil
		} else if err != nil {
			return parquet.Value{}, c.corrupt(err)
		} else if n == 0 {
			return parquet.Value{}, c.corrupt(errors.New("page yields no values"))
		}
	}
	v := c.buf[c.i]
	c.i++
	return v, nil
}

// seek positions the cursor at row.
func (c *columnCursor) seek(row int64) error {
	if row == 0 {
		return nil
	}
	if err := c.pages.SeekToRow(row); err != nil {
		return c.corrupt(err)
	}
	return nil
}

// atEnd checks that the chunk holds no values beyond the row count.
func (c *columnCursor) atEnd() error {
	if c.i < c.n {
		return c.corrupt(errors.New("more values than rows"))
	}
	for c.vals != nil {
		n, err := c.vals.ReadValues(c.buf)
		if n > 0 {
			return c.corrupt(errors.New("more values than rows"))
		}
		if err == io.EOF {
			c.vals = nil
		} else if err != nil {
			return c.corrupt(err)
		}
	}
	if p, err := c.pages.ReadPage(); err != io.EOF {
		if err == nil {
			parquet.Release(p)
			return c.corrupt(errors.New("more pages than rows"))
		}
		return c.corrupt(err)
	}
	return nil
}

func (c *columnCursor) releasePage() {
	if c.page != nil {
		parquet.Release(c.page)
		c.page = nil
	}
}

func (c *columnCursor) close() {
	c.releasePage()
	c.pages.Close()
}

// cloneDefault returns a column default for one row; BYTES are copied so
// rows never share a mutable slice.
func cloneDefault(v types.Value) types.Value {
	if b, ok := v.([]byte); ok {
		return bytes.Clone(b)
	}
	return v
}
