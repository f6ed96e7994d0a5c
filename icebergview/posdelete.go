package icebergview

import (
	"bytes"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// Field ids the Iceberg spec reserves for the columns of a position
// delete file.
const (
	posDeleteFilePathID = 2147483546
	posDeletePosID      = 2147483545
)

var posDeleteSchema = arrow.NewSchema([]arrow.Field{
	{Name: "file_path", Type: arrow.BinaryTypes.String, Metadata: arrow.NewMetadata([]string{"PARQUET:field_id"}, []string{"2147483546"})},
	{Name: "pos", Type: arrow.PrimitiveTypes.Int64, Metadata: arrow.NewMetadata([]string{"PARQUET:field_id"}, []string{"2147483545"})},
}, nil)

// writePositionDeletes encodes an Iceberg position delete file (Parquet,
// columns file_path and pos with their reserved field ids) that deletes
// positions (ascending) of the data file at dataURI.
func writePositionDeletes(dataURI string, positions []int64) ([]byte, error) {
	mem := memory.DefaultAllocator
	b := array.NewRecordBuilder(mem, posDeleteSchema)
	defer b.Release()
	fp := b.Field(0).(*array.StringBuilder)
	pos := b.Field(1).(*array.Int64Builder)
	fp.Reserve(len(positions))
	for range positions {
		fp.Append(dataURI)
	}
	pos.AppendValues(positions, nil)
	rec := b.NewRecordBatch()
	defer rec.Release()
	var buf bytes.Buffer
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Zstd), parquet.WithDictionaryDefault(true))
	w, err := pqarrow.NewFileWriter(posDeleteSchema, &buf, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		return nil, fmt.Errorf("position delete file: %w", err)
	}
	if err := w.Write(rec); err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("position delete file: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("position delete file: %w", err)
	}
	return buf.Bytes(), nil
}
