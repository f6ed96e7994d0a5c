package lsm

import (
	"bytes"
	"context"
	"iter"
	"testing"

	"github.com/siltdb/silt/types"
)

// BenchmarkFileReaderScan reads every record of a benchRows file (one
// sorted run, several row groups) through Records: all columns, two
// columns (amount, qty: what `SUM(amount), COUNT(qty)` needs) and only the
// hidden columns, and for comparison through the value-at-a-time decoder
// that point lookups use; the batch-* cases decode the same row groups
// into Arrow arrays (DecodeBatch) instead of Records.
func BenchmarkFileReaderScan(b *testing.B) {
	recs := benchRecords(benchRows)
	s := benchSchema()
	files, err := WriteFiles(recs, s, WriterOptions{})
	if err != nil {
		b.Fatal(err)
	}
	data := files[0].Data
	ctx := context.Background()
	open := func(b *testing.B) *FileReader {
		fr, err := OpenFile(ctx, bytes.NewReader(data), int64(len(data)), s, 0)
		if err != nil {
			b.Fatal(err)
		}
		return fr
	}
	for _, c := range []struct {
		name string
		cols []int
	}{{"all", nil}, {"2cols", []int{2, 3}}, {"keyonly", []int{}}} {
		b.Run(c.name, func(b *testing.B) {
			cpu := processCPU()
			for b.Loop() {
				n := 0
				for _, err := range open(b).Records(ctx, ReadOptions{Columns: c.cols}) {
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
			b.ReportMetric(float64(processCPU()-cpu)/float64(b.N*benchRows), "cpu-ns/row")
		})
	}
	for _, c := range []struct {
		name string
		cols []int
	}{{"batch-all", nil}, {"batch-2cols", []int{2, 3}}, {"batch-keyonly", []int{}}} {
		b.Run(c.name, func(b *testing.B) {
			cpu := processCPU()
			for b.Loop() {
				fr := open(b)
				n := 0
				for i := range fr.NumRowGroups() {
					batch, err := fr.DecodeBatch(ctx, i, ReadOptions{Columns: c.cols})
					if err != nil {
						b.Fatal(err)
					}
					n += batch.Len()
				}
				if n != benchRows {
					b.Fatalf("read %d", n)
				}
			}
			b.ReportMetric(float64(benchRows)/(b.Elapsed().Seconds()/float64(b.N)), "rows/s")
			b.ReportMetric(float64(processCPU()-cpu)/float64(b.N*benchRows), "cpu-ns/row")
		})
	}
	b.Run("all-valuedecoder", func(b *testing.B) {
		cpu := processCPU()
		for b.Loop() {
			fr := open(b)
			n := 0
			for i := range fr.groups {
				ra, err := fr.loadGroup(ctx, i)
				if err != nil {
					b.Fatal(err)
				}
				// rows [0, rows-1) take the value-at-a-time path
				if err := fr.readRows(ctx, ra, i, 0, fr.groups[i].rows-1, func(Record) error { n++; return nil }); err != nil {
					b.Fatal(err)
				}
				n++
			}
			if n != benchRows {
				b.Fatalf("read %d", n)
			}
		}
		b.ReportMetric(float64(benchRows)/(b.Elapsed().Seconds()/float64(b.N)), "rows/s")
		b.ReportMetric(float64(processCPU()-cpu)/float64(b.N*benchRows), "cpu-ns/row")
	})
}

// BenchmarkMergeFiles merges 1 and 5 overlapping runs of benchRows/5
// records each with MergeFiles and with MergeRuns over All.
func BenchmarkMergeFiles(b *testing.B) {
	s := benchSchema()
	ctx := context.Background()
	recs := benchRecords(benchRows)
	var runs [][]byte
	for r := 0; r < 5; r++ {
		var part []Record
		for i := r; i < len(recs); i += 5 {
			part = append(part, recs[i])
		}
		files, err := WriteFiles(part, s, WriterOptions{})
		if err != nil {
			b.Fatal(err)
		}
		runs = append(runs, files[0].Data)
	}
	whole, err := WriteFiles(recs, s, WriterOptions{})
	if err != nil {
		b.Fatal(err)
	}
	open := func(b *testing.B, datas [][]byte) []*FileReader {
		var frs []*FileReader
		for _, d := range datas {
			fr, err := OpenFile(ctx, bytes.NewReader(d), int64(len(d)), s, 0)
			if err != nil {
				b.Fatal(err)
			}
			frs = append(frs, fr)
		}
		return frs
	}
	for _, c := range []struct {
		name  string
		datas [][]byte
	}{{"1run", [][]byte{whole[0].Data}}, {"5runs", runs}} {
		b.Run(c.name+"/MergeFiles-2cols", func(b *testing.B) {
			cpu := processCPU()
			for b.Loop() {
				for _, err := range MergeFiles(ctx, open(b, c.datas), ReadOptions{Columns: []int{2, 3}}, lastWins{}, false) {
					if err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(benchRows)/(b.Elapsed().Seconds()/float64(b.N)), "rows/s")
			b.ReportMetric(float64(processCPU()-cpu)/float64(b.N*benchRows), "cpu-ns/row")
		})
		b.Run(c.name+"/MergeFiles", func(b *testing.B) {
			cpu := processCPU()
			for b.Loop() {
				for _, err := range MergeFiles(ctx, open(b, c.datas), ReadOptions{}, lastWins{}, false) {
					if err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(benchRows)/(b.Elapsed().Seconds()/float64(b.N)), "rows/s")
			b.ReportMetric(float64(processCPU()-cpu)/float64(b.N*benchRows), "cpu-ns/row")
		})
		for _, bc := range []struct {
			name string
			cols []int
			m    Merger
		}{{"MergeBatches-2cols", []int{2, 3}, pickLast{}}, {"MergeBatches", nil, pickLast{}}, {"MergeBatches-merger", nil, lastWins{}}} {
			b.Run(c.name+"/"+bc.name, func(b *testing.B) {
				schema, err := types.ArrowSchema(s, false)
				if err != nil {
					b.Fatal(err)
				}
				cpu := processCPU()
				for b.Loop() {
					n := 0
					for rec, err := range MergeBatches(ctx, open(b, c.datas), bc.m, BatchOptions{Read: ReadOptions{Columns: bc.cols}, Schema: schema}) {
						if err != nil {
							b.Fatal(err)
						}
						n += int(rec.NumRows())
					}
					if n == 0 {
						b.Fatal("no rows")
					}
				}
				b.ReportMetric(float64(benchRows)/(b.Elapsed().Seconds()/float64(b.N)), "rows/s")
				b.ReportMetric(float64(processCPU()-cpu)/float64(b.N*benchRows), "cpu-ns/row")
			})
		}
		b.Run(c.name+"/MergeRuns", func(b *testing.B) {
			cpu := processCPU()
			for b.Loop() {
				frs := open(b, c.datas)
				srcs := make([]iter.Seq2[Record, error], len(frs))
				for i, fr := range frs {
					srcs[i] = fr.All(ctx)
				}
				for _, err := range MergeRuns(ctx, srcs, lastWins{}, false) {
					if err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(benchRows)/(b.Elapsed().Seconds()/float64(b.N)), "rows/s")
			b.ReportMetric(float64(processCPU()-cpu)/float64(b.N*benchRows), "cpu-ns/row")
		})
	}
}
