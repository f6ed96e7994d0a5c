package bench

import (
	"bytes"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"
	"github.com/siltdb/silt/types"
)

// quietLogger keeps Pebble's informational logging off the terminal.
type quietLogger struct{}

func (quietLogger) Infof(string, ...any)              {}
func (quietLogger) Errorf(string, ...any)             {}
func (quietLogger) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }

// openPebble opens a Pebble database in dir with default options (a 4 MiB
// memtable would flatter it less, but defaults are what a user gets).
func openPebble(dir string) (*pebble.DB, error) {
	db, err := pebble.Open(dir, &pebble.Options{Logger: quietLogger{}})
	if err != nil {
		return nil, fmt.Errorf("pebble: %w", err)
	}
	return db, nil
}

// pqRow is a bench row for parquet-go's generic writer: the same columns
// and physical types as silt's data files, without silt's hidden key,
// sequence and kind columns.
type pqRow struct {
	ID      int64   `parquet:"id"`
	Name    string  `parquet:"name,optional"`
	City    string  `parquet:"city,optional"`
	Amount  int64   `parquet:"amount,optional,decimal(2:12)"`
	Qty     int32   `parquet:"qty,optional"`
	Score   float64 `parquet:"score,optional"`
	Updated int64   `parquet:"updated,optional,timestamp(microsecond)"`
}

func toPQ(row types.Row) pqRow {
	return pqRow{ID: row[0].(int64), Name: row[1].(string), City: row[2].(string), Amount: int64(row[3].(types.Decimal)),
		Qty: row[4].(int32), Score: row[5].(float64), Updated: int64(row[6].(types.Timestamp))}
}

// parquetEncode encodes rows into one in-memory Parquet file with codec
// (that of silt's compacted files) and pages of pageBytes, and returns its
// size: the CPU limit of ingest. One codec serves a whole run, so its
// encoders are reused across files.
func parquetEncode(codec compress.Codec, pageBytes int, rows []pqRow) (int, error) {
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[pqRow](&buf, parquet.Compression(codec), parquet.PageBufferSize(pageBytes))
	if _, err := w.Write(rows); err != nil {
		return 0, fmt.Errorf("parquet-go encode: %w", err)
	}
	if err := w.Close(); err != nil {
		return 0, fmt.Errorf("parquet-go encode: %w", err)
	}
	return buf.Len(), nil
}
