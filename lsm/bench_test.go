package lsm

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"
	"github.com/siltdb/silt/internal/testkit"
	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/types"
)

// cpuSeconds is the user and system CPU time of the process.
func cpuSeconds() float64 { return testkit.ProcessCPU().Seconds() }

// benchSchema is a typical table: a BIGINT key and a few value columns.
func benchSchema() *types.Schema {
	return &types.Schema{
		ID: 1,
		Fields: []types.Field{
			{ID: 0, Name: "id", Type: types.TBigInt, NotNull: true},
			{ID: 1, Name: "name", Type: types.TString},
			{ID: 2, Name: "amount", Type: types.TDecimal(12, 2)},
			{ID: 3, Name: "qty", Type: types.TInt},
			{ID: 4, Name: "score", Type: types.TDouble},
			{ID: 5, Name: "updated", Type: types.TTimestamp},
		},
		PrimaryKeys:    []string{"id"},
		HighestFieldID: 5,
	}
}

func benchRecords(n int) []Record {
	rng := rand.New(rand.NewPCG(1, 1))
	recs := make([]Record, n)
	for i := range recs {
		row := types.Row{int64(i * 2), fmt.Sprintf("customer-%d", rng.IntN(100000)), types.Decimal(rng.Int64N(1e9)),
			int32(rng.IntN(1000)), rng.Float64(), types.Timestamp(1.7e15 + rng.Int64N(1e12))}
		key, _ := types.EncodeRowKey(nil, row, []int{0})
		recs[i] = Record{Key: key, Seq: int64(i), Row: row, Merged: true}
	}
	return recs
}

// recordBytes is the size of the records' values, the MB/s basis.
func recordBytes(recs []Record) int64 {
	var n int64
	for _, r := range recs {
		n += int64(len(r.Key)) + 8 + 4
		for _, v := range r.Row {
			switch x := v.(type) {
			case string:
				n += int64(len(x))
			case int32:
				n += 4
			default:
				n += 8
			}
		}
	}
	return n
}

const benchRows = 200_000

// BenchmarkWriteFiles encodes benchRows records; the baseline encodes the
// same rows with a plain parquet-go writer (same columns and compression,
// no bloom filter, no checksums, no validation).
func BenchmarkWriteFiles(b *testing.B) {
	recs := benchRecords(benchRows)
	s := benchSchema()
	in := recordBytes(recs)
	var cpu0 float64
	report := func(b *testing.B, out int64) {
		sec := b.Elapsed().Seconds() / float64(b.N)
		b.ReportMetric(float64(benchRows)/sec, "rows/s")
		// CPU time of the process per row, steadier than wall time on a
		// shared machine.
		b.ReportMetric(float64(benchRows)/((cpuSeconds()-cpu0)/float64(b.N)), "rows/cpu-s")
		b.ReportMetric(float64(in)/sec/1e6, "MB/s")
		b.ReportMetric(float64(out), "file-bytes")
	}
	b.Run("silt", func(b *testing.B) {
		cpu0 = cpuSeconds()
		var out int64
		for b.Loop() {
			files, err := WriteFiles(recs, s, WriterOptions{})
			if err != nil {
				b.Fatal(err)
			}
			out = int64(len(files[0].Data))
		}
		report(b, out)
	})
	b.Run("silt-rowpath", func(b *testing.B) { // the encoder before the columnar one
		cpu0 = cpuSeconds()
		var out int64
		for b.Loop() {
			files, err := WriteFiles(recs, s, WriterOptions{rowPath: true})
			if err != nil {
				b.Fatal(err)
			}
			out = int64(len(files[0].Data))
		}
		report(b, out)
	})
	b.Run("parquet-go-baseline", func(b *testing.B) {
		cpu0 = cpuSeconds()
		optional := make([]bool, len(s.Fields))
		for i := 1; i < len(optional); i++ {
			optional[i] = true
		}
		ps, err := parquetSchema(s, optional)
		if err != nil {
			b.Fatal(err)
		}
		fw := &fileWriter{schema: s, ps: ps, optional: optional}
		rows := make([]parquet.Row, len(recs))
		var out int64
		for b.Loop() {
			var buf bytes.Buffer
			w := parquet.NewWriter(&buf, ps, parquet.Compression(&zstd.Codec{Level: zstd.SpeedDefault}))
			for i := range recs {
				if rows[i], err = fw.encodeRow(nil, &recs[i]); err != nil {
					b.Fatal(err)
				}
				if (i+1)%(64<<10) == 0 {
					if _, err := w.WriteRows(rows[i+1-64<<10 : i+1]); err != nil {
						b.Fatal(err)
					}
					if err := w.Flush(); err != nil {
						b.Fatal(err)
					}
				}
			}
			if _, err := w.WriteRows(rows[len(recs)/(64<<10)*(64<<10):]); err != nil {
				b.Fatal(err)
			}
			if err := w.Close(); err != nil {
				b.Fatal(err)
			}
			out = int64(buf.Len())
		}
		report(b, out)
	})
}

// BenchmarkLookup looks up present and absent keys in one LSM tree of four
// files (each benchRows/4 records, 16Ki-row row groups) whose readers are
// opened once, as a reader cache would keep them.
func BenchmarkLookup(b *testing.B) {
	recs := benchRecords(benchRows)
	s := benchSchema()
	ctx := context.Background()
	var srcs []FileSource
	quarter := len(recs) / 4
	for q := 0; q < 4; q++ {
		files, err := WriteFiles(recs[q*quarter:(q+1)*quarter], s, WriterOptions{RowGroupRows: 16 << 10})
		if err != nil {
			b.Fatal(err)
		}
		f := files[0]
		fr, err := OpenFile(ctx, bytes.NewReader(f.Data), int64(len(f.Data)), s, 0)
		if err != nil {
			b.Fatal(err)
		}
		srcs = append(srcs, FileSource{
			Meta: manifest.DataFile{MinKey: f.MinKey, MaxKey: f.MaxKey, Size: int64(len(f.Data))},
			Open: func(context.Context) (*FileReader, error) { return fr, nil },
		})
	}
	for _, present := range []bool{true, false} {
		b.Run(fmt.Sprintf("present=%t", present), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(2, 2))
			for b.Loop() {
				id := int64(rng.IntN(benchRows)) * 2
				if !present {
					id++ // odd ids are absent, inside the files' key ranges
				}
				key, _ := types.EncodeKey(nil, id)
				_, ok, _, err := Lookup(ctx, srcs, key, lastWins{})
				if err != nil || ok != present {
					b.Fatalf("Lookup(%d) = %t, %v", id, ok, err)
				}
			}
		})
	}
	b.Run("open+lookup", func(b *testing.B) {
		files, err := WriteFiles(recs[:quarter], s, WriterOptions{RowGroupRows: 16 << 10})
		if err != nil {
			b.Fatal(err)
		}
		data := files[0].Data
		rng := rand.New(rand.NewPCG(3, 3))
		for b.Loop() {
			fr, err := OpenFile(ctx, bytes.NewReader(data), int64(len(data)), s, 0)
			if err != nil {
				b.Fatal(err)
			}
			key, _ := types.EncodeKey(nil, int64(rng.IntN(quarter))*2)
			if got, err := fr.Get(ctx, key); err != nil || len(got) != 1 {
				b.Fatalf("Get = %v, %v", got, err)
			}
		}
	})
}

// BenchmarkScan reads every record of a benchRows file.
func BenchmarkScan(b *testing.B) {
	recs := benchRecords(benchRows)
	s := benchSchema()
	files, err := WriteFiles(recs, s, WriterOptions{})
	if err != nil {
		b.Fatal(err)
	}
	data := files[0].Data
	ctx := context.Background()
	for b.Loop() {
		fr, err := OpenFile(ctx, bytes.NewReader(data), int64(len(data)), s, 0)
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for _, err := range fr.All(ctx) {
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != benchRows {
			b.Fatalf("read %d", n)
		}
	}
	b.ReportMetric(float64(benchRows)/(b.Elapsed().Seconds()/float64(b.N)), "rows/s")
}
