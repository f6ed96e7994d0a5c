package lsm

import (
	"bytes"
	"context"
	"fmt"

	"github.com/parquet-go/parquet-go"
	"github.com/siltdb/silt/types"
)

// Piece is a part of a sorted run to write: merged records, or a row group
// copied from an input file (Copy set, Records nil).
type Piece struct {
	Records []Record
	Copy    *GroupCopy
}

// WritePieces is WriteFiles for a sequence of pieces in (Key, Seq) order.
// A copied row group's key range must lie strictly between the keys of
// the pieces around it, and one key's records must not span pieces. It is
// written as one row group of the output file without decoding its rows
// when the file's Parquet schema equals the source's (the same schema id
// and the same optional columns), it has at most RowGroupRows rows and its
// source's SeqBase equals the output file's. An output file takes the
// SeqBase of the first copied row group at or after its start (0 without
// one) and stores every other record's Seq minus that base, which may be
// negative; other row groups are decoded and written as records (counted
// in EncodedFile.GroupsDecoded). Files still end at TargetFileSize, checked
// after each key and after each copied row group.
func WritePieces(ctx context.Context, pieces []Piece, schema *types.Schema, opts WriterOptions) ([]EncodedFile, error) {
	opts.EnsureDefaults()
	if schema == nil {
		return nil, fmt.Errorf("%w: nil schema", types.ErrInvalid)
	}
	// Row groups that can never be copied (another schema, too many rows)
	// are decoded now, so their NULLs count below.
	demoted := make([]bool, len(pieces)) // decoded instead of copied
	pieces = append([]Piece(nil), pieces...)
	for i := range pieces {
		if c := pieces[i].Copy; c != nil && (c.f.schemaID != schema.ID || c.rows > int64(opts.RowGroupRows)) {
			recs, err := c.records(ctx)
			if err != nil {
				return nil, err
			}
			pieces[i], demoted[i] = Piece{Records: recs}, true
		}
	}
	if err := checkPieces(pieces, schema); err != nil {
		return nil, err
	}
	// Key columns are required. Other NOT NULL columns are required unless
	// a record has NULL there (-U/-D rows need only carry the key) or a
	// copied row group stores them as optional.
	optional := make([]bool, len(schema.Fields))
	srcSchemas := make([]*parquet.Schema, len(pieces))
	for i, f := range schema.Fields {
		optional[i] = !f.NotNull
	}
	for pi, p := range pieces {
		if p.Copy == nil {
			for i := range optional {
				optional[i] = optional[i] || hasNull(p.Records, i)
			}
			continue
		}
		if _, err := p.Copy.rowGroup(); err != nil {
			return nil, err
		}
		srcSchemas[pi] = p.Copy.pf.Schema()
		cols := srcSchemas[pi].Fields() // top-level: a nested column is one field of several leaves
		for i := range optional {
			if numHidden+i < len(cols) {
				optional[i] = optional[i] || cols[numHidden+i].Optional()
			}
		}
	}
	for _, k := range schema.KeyIndexes() {
		if k < 0 {
			return nil, fmt.Errorf("%w: schema has an unknown primary key column", types.ErrInvalid)
		}
		optional[k] = false
	}
	ps, err := parquetSchema(schema, optional)
	if err != nil {
		return nil, err
	}
	fw := &fileWriter{schema: schema, ps: ps, optional: optional, opts: opts, rowPath: opts.rowPath}
	var out []EncodedFile
	started := false
	for pi := 0; pi < len(pieces); pi++ {
		recs := pieces[pi].Records
		if c := pieces[pi].Copy; c != nil {
			if !started {
				fw.start()
				fw.base, started = c.SeqBase(), true
			}
			if c.SeqBase() == fw.base && parquet.EqualNodes(srcSchemas[pi], ps) {
				if err := fw.copyGroup(c); err != nil {
					return nil, err
				}
				if fw.size() >= opts.TargetFileSize {
					f, err := fw.finish()
					if err != nil {
						return nil, err
					}
					out, started = append(out, f), false
				}
				continue
			}
			if recs, err = c.records(ctx); err != nil {
				return nil, err
			}
			demoted[pi] = true
		}
		for i := 0; i < len(recs); {
			if !started {
				fw.start()
				fw.base, started = nextBase(pieces[pi+1:]), true
			}
			if i == 0 && demoted[pi] {
				fw.file.GroupsDecoded++
			}
			// Write every record of the key at i.
			j := i + 1
			for j < len(recs) && bytes.Equal(recs[j].Key, recs[i].Key) {
				j++
			}
			for k := i; k < j; k++ {
				if err := fw.add(&recs[k]); err != nil {
					return nil, err
				}
			}
			i = j
			if fw.size() >= opts.TargetFileSize {
				f, err := fw.finish()
				if err != nil {
					return nil, err
				}
				out, started = append(out, f), false
			}
		}
	}
	if started && fw.file.RowCount > 0 {
		f, err := fw.finish()
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	fw.release()
	return out, nil
}

// nextBase is the SeqBase of the first copied row group in pieces, or 0.
func nextBase(pieces []Piece) int64 {
	for _, p := range pieces {
		if p.Copy != nil {
			return p.Copy.SeqBase()
		}
	}
	return 0
}

// checkPieces checks the records of each piece and the order across pieces.
func checkPieces(pieces []Piece, schema *types.Schema) error {
	var last []byte // largest key so far
	var prev []Record
	for i, p := range pieces {
		if c := p.Copy; c != nil {
			if last != nil && bytes.Compare(c.MinKey(), last) <= 0 {
				return fmt.Errorf("%w: copied row group (piece %d) does not follow the keys before it", types.ErrInvalid, i)
			}
			last, prev = c.MaxKey(), nil
			continue
		}
		if len(p.Records) == 0 {
			continue
		}
		if err := checkRecords(p.Records, schema); err != nil {
			return fmt.Errorf("piece %d: %w", i, err)
		}
		if sameKeyAcross(prev, p.Records) {
			return fmt.Errorf("%w: the records of one key span pieces %d and %d", types.ErrInvalid, i-1, i)
		}
		if last != nil && bytes.Compare(p.Records[0].Key, last) < 0 {
			return fmt.Errorf("%w: records not sorted by (key, seq) at piece %d", types.ErrInvalid, i)
		}
		prev, last = p.Records, p.Records[len(p.Records)-1].Key
	}
	return nil
}

// account adds records to the file's facts; seqs are stored values.
func (fw *fileWriter) account(minKey, maxKey []byte, minSeq, maxSeq, rows, deletes int64) {
	f := &fw.file
	if f.RowCount == 0 {
		f.MinKey = bytes.Clone(minKey)
		f.MinSeq, f.MaxSeq = minSeq, maxSeq
		f.SeqBase = fw.base
	}
	f.MaxKey = maxKey
	f.MinSeq, f.MaxSeq = min(f.MinSeq, minSeq), max(f.MaxSeq, maxSeq)
	f.RowCount += rows
	f.DeleteCount += deletes
}

// copyGroup ends the current row group and writes c as the next one.
func (fw *fileWriter) copyGroup(c *GroupCopy) error {
	if err := fw.flushRowGroup(); err != nil {
		return err
	}
	rg, err := c.rowGroup()
	if err != nil {
		return err
	}
	fw.sized = -1
	if _, err := fw.w.WriteRowGroup(rg); err != nil {
		return fmt.Errorf("copying row group: %w", err)
	}
	fw.copies[fw.rowGroups] = c
	fw.rowGroups++
	fw.rgStart = fw.size()
	fw.account(c.MinKey(), c.MaxKey(), c.minSeq, c.maxSeq, c.rows, c.deletes)
	return nil
}
