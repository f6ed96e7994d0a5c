// Package lsm is one bucket's merge tree: the write buffer, the Parquet
// sorted-run writer and reader, the k-way merge of sorted runs and point
// lookups. Merge rules come in through the Merger interface, which the table
// package implements with its merge engines. lsm does no object-store I/O of
// its own: it encodes files to bytes and reads them through an io.ReaderAt.
//
// Files:
//
//	record.go       Record, Merger
//	writebuffer.go  WriteBuffer: in-memory buffer, sorted and pre-merged on Flush
//	schema.go       silt column types <-> Parquet schema and types
//	writer.go       WriteFiles: records -> Parquet data files
//	pieces.go       WritePieces: records and copied row groups -> data files
//	copy.go         GroupInfo, GroupRecords, CopyGroup: row groups read for
//	                verbatim copying into another file
//	checksum.go     silt checksums over row groups and the file tail
//	reader.go       OpenFile, FileReader: footer, column mapping, All, Get
//	rowgroup.go     verified row-group loading; value-at-a-time decoding
//	                of row ranges (point lookups)
//	decode.go       ReadOptions (column projection); columnar decoding of
//	                whole row groups into typed arrays (scans, compaction)
//	cursor.go       Records, MergeFiles, FileMerge: pull cursors over data
//	                files that decode the next row group in the background
//	merge.go        MergeRuns: heap merge of sorted runs (one run: no heap)
//	batch.go        Batch, DecodeBatch: row groups decoded into Arrow arrays
//	batch_cursor.go one sorted run's row groups, the next decoded ahead
//	batch_merge.go  MergeBatches: sorted runs merged into Arrow batches by
//	                selection and take; Picker
//	batch_build.go  output columns built from picked rows and merged rows
//	batch_pageheader.go  page headers for decoding checked page bodies
//	lookup.go       Lookup: point lookup with key-range and bloom pruning
//
// # Data file layout (format version 1)
//
// A data file is a standard Parquet file (parquet-go, data pages v2, the
// codec its writer was given (tables default to ZSTD, SNAPPY at level 0),
// page CRCs) holding records sorted by (_key, _seq):
//
//	_key   BYTE_ARRAY required  types.EncodeRowKey of the primary key;
//	                            DELTA_BYTE_ARRAY, chunk min/max statistics,
//	                            split-block bloom filter (10 bits/key)
//	_seq   INT64 required       sequence number; readers add the manifest's SeqBase
//	_kind  INT32 required       row kind 0 +I, 1 -U, 2 +U, 3 -D; +4 = Reset
//	<col>  one column per schema field, in schema order, named by the field
//	       and carrying Parquet field_id = Field.ID; BOOLEAN, INT32, INT64,
//	       FLOAT, DOUBLE, DECIMAL(p,s) on INT64, STRING (UTF8), BYTES, DATE,
//	       TIMESTAMP(MICROS, UTC). Optional, except key columns and NOT NULL
//	       columns without a NULL in the file (-U/-D rows may carry only keys).
//
// Row groups hold at most WriterOptions.RowGroupRows rows (default 65536) or
// RowGroupBytes; a file ends at TargetFileSize (default 128 MiB), never
// inside one key's records. Bloom filters are written together after the
// last row group. Key-value metadata: silt.format.version, silt.schema.id,
// silt.field.ids (field ids in column order: parquet-go cannot write a
// field_id of 0) and silt.checksums, CRC-32C checksums of every row group's
// bytes and of the file tail (bloom filters, page index, footer), which
// readers verify before decoding anything (see checksum.go).
package lsm
