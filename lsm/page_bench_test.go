package lsm

import (
	"bytes"
	"context"
	"fmt"
	"testing"
)

// BenchmarkPageSize measures what the data page size costs and gives:
// encoding CPU per row, decoding CPU per row (whole row groups, all and
// two columns, as scans do), file size, and the bytes and reads of a
// point lookup (LookupKeys) of one key, per candidate page size. Run with
// -count and compare the sizes within one run: the cpu-ns/row figures are
// the process's CPU time, which a loaded machine distorts less than wall
// time.
func BenchmarkPageSize(b *testing.B) {
	recs := benchRecords(benchRows)
	s := benchSchema()
	ctx := context.Background()
	for _, kib := range []int{8, 16, 32, 256} {
		opts := WriterOptions{PageBytes: kib << 10}
		files, err := WriteFiles(recs, s, opts)
		if err != nil {
			b.Fatal(err)
		}
		data := files[0].Data
		b.Run(fmt.Sprintf("%dKiB/write", kib), func(b *testing.B) {
			cpu := processCPU()
			for b.Loop() {
				if _, err := WriteFiles(recs, s, opts); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(processCPU()-cpu)/float64(b.N*benchRows), "cpu-ns/row")
			b.ReportMetric(float64(len(data)), "file-bytes")
		})
		for _, c := range []struct {
			name string
			cols []int
		}{{"scan-all", nil}, {"scan-2cols", []int{2, 3}}} {
			b.Run(fmt.Sprintf("%dKiB/%s", kib, c.name), func(b *testing.B) {
				cpu := processCPU()
				for b.Loop() {
					fr, err := OpenFile(ctx, bytes.NewReader(data), int64(len(data)), s, 0)
					if err != nil {
						b.Fatal(err)
					}
					for i := range fr.NumRowGroups() {
						if _, err := fr.DecodeBatch(ctx, i, ReadOptions{Columns: c.cols}); err != nil {
							b.Fatal(err)
						}
					}
				}
				b.ReportMetric(float64(processCPU()-cpu)/float64(b.N*benchRows), "cpu-ns/row")
			})
		}
		b.Run(fmt.Sprintf("%dKiB/lookup", kib), func(b *testing.B) {
			cr := &countingReader{r: bytes.NewReader(data)}
			fr, err := OpenFile(ctx, cr, int64(len(data)), s, 0)
			if err != nil {
				b.Fatal(err)
			}
			reads0, bytes0 := cr.reads.Load(), cr.bytes.Load()
			cpu := processCPU()
			n := 0
			for b.Loop() {
				k := recs[(n*7919)%len(recs)].Key
				n++
				if got, err := fr.LookupKeys(ctx, [][]byte{k}); err != nil || len(got) != 1 {
					b.Fatalf("%d records, %v", len(got), err)
				}
			}
			b.ReportMetric(float64(processCPU()-cpu)/float64(b.N), "cpu-ns/lookup")
			b.ReportMetric(float64(cr.bytes.Load()-bytes0)/float64(b.N)/1e3, "KB/lookup")
			b.ReportMetric(float64(cr.reads.Load()-reads0)/float64(b.N), "reads/lookup")
		})
	}
}
