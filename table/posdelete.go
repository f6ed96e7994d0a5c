package table

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"

	"github.com/siltdb/silt/types"
)

// Iceberg position delete files: the form in which an Iceberg view of a
// silt table tells Iceberg readers which rows of silt's data files to drop
// (the rows HiddenRows lists). The layout is fixed by the Iceberg table
// spec (format v2, "Position Delete Files"): two required columns with
// reserved field ids, rows sorted by (file_path, pos).

// Reserved Iceberg field ids of the position delete columns.
const (
	IcebergFieldIDDeleteFilePath = 2147483546
	IcebergFieldIDDeletePos      = 2147483545
)

// PositionDelete is one deleted row: the 0-based position Pos of a row in
// the data file FilePath, which must be the data file's location exactly
// as the Iceberg manifest lists it (a full URI).
type PositionDelete struct {
	FilePath string
	Pos      int64
}

// positionDeleteSchema is the Parquet schema of a position delete file:
// file_path (string, required, field id 2147483546) then pos (int64,
// required, field id 2147483545). parquet.Group orders fields by name,
// which is also the spec's order.
var positionDeleteSchema = parquet.NewSchema("position_delete", parquet.Group{
	"file_path": parquet.FieldID(parquet.Required(parquet.String()), IcebergFieldIDDeleteFilePath),
	"pos":       parquet.FieldID(parquet.Required(parquet.Leaf(parquet.Int64Type)), IcebergFieldIDDeletePos),
})

// icebergDeleteSchemaJSON is the Iceberg schema of the file, stored under
// the footer key "iceberg.schema" as Iceberg's own writers do.
const icebergDeleteSchemaJSON = `{"type":"struct","schema-id":0,"fields":[` +
	`{"id":2147483546,"name":"file_path","required":true,"type":"string"},` +
	`{"id":2147483545,"name":"pos","required":true,"type":"long"}]}`

// positionDeleteBatch is how many rows are handed to the Parquet writer at
// once.
const positionDeleteBatch = 4096

// WritePositionDeletes writes deletes as an Iceberg position delete file
// (Parquet, zstd) to w and returns the number of rows written. Rows are
// written sorted by (file_path, pos), as the spec requires, whatever the
// order of deletes (which is not modified); exact duplicates are written
// once. An empty file path or a negative position is an error wrapping
// types.ErrInvalid, and nothing is written then. An empty deletes writes a
// valid file of no rows.
func WritePositionDeletes(w io.Writer, deletes []PositionDelete) (rows int64, err error) {
	for _, d := range deletes {
		if d.FilePath == "" || d.Pos < 0 {
			return 0, fmt.Errorf("%w: position delete (%q, %d): want a data file path and a position >= 0", types.ErrInvalid, d.FilePath, d.Pos)
		}
	}
	if !slices.IsSortedFunc(deletes, comparePositionDeletes) {
		deletes = slices.Clone(deletes)
		slices.SortFunc(deletes, comparePositionDeletes)
	}
	pw := parquet.NewWriter(w, positionDeleteSchema,
		parquet.Compression(&zstd.Codec{Level: zstd.SpeedDefault}),
		parquet.CreatedBy("silt", "1", ""),
		parquet.KeyValueMetadata("iceberg.schema", icebergDeleteSchemaJSON),
	)
	batch := make([]parquet.Row, 0, positionDeleteBatch)
	flush := func() error {
		if _, err := pw.WriteRows(batch); err != nil {
			return fmt.Errorf("write position deletes: %w", err)
		}
		rows += int64(len(batch))
		batch = batch[:0]
		return nil
	}
	for i, d := range deletes {
		if i > 0 && d == deletes[i-1] {
			continue
		}
		batch = append(batch, parquet.Row{
			parquet.ByteArrayValue([]byte(d.FilePath)).Level(0, 0, 0),
			parquet.Int64Value(d.Pos).Level(0, 0, 1),
		})
		if len(batch) == positionDeleteBatch {
			if err := flush(); err != nil {
				return 0, err
			}
		}
	}
	if len(batch) > 0 {
		if err := flush(); err != nil {
			return 0, err
		}
	}
	if err := pw.Close(); err != nil {
		return 0, fmt.Errorf("write position deletes: %w", err)
	}
	return rows, nil
}

func comparePositionDeletes(a, b PositionDelete) int {
	if c := strings.Compare(a.FilePath, b.FilePath); c != 0 {
		return c
	}
	return cmp.Compare(a.Pos, b.Pos)
}

// PositionDeletes turns HiddenRows' answer into position deletes, sorted
// by (file_path, pos): location maps a data file's path in the table
// (manifest.DataFile.Path) to its location in the Iceberg manifest.
func PositionDeletes(hidden map[string][]int64, location func(path string) string) []PositionDelete {
	n := 0
	for _, pos := range hidden {
		n += len(pos)
	}
	out := make([]PositionDelete, 0, n)
	for path, pos := range hidden {
		loc := location(path)
		for _, p := range pos {
			out = append(out, PositionDelete{FilePath: loc, Pos: p})
		}
	}
	slices.SortFunc(out, comparePositionDeletes)
	return out
}
