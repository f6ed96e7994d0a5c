package lsm

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/siltdb/silt/types"
)

// ingestSchema is the table of BenchmarkIngestShape (table): a BIGINT
// key, two strings, a DECIMAL, an INT, a DOUBLE and a TIMESTAMP.
func ingestSchema() *types.Schema {
	return &types.Schema{
		ID: 1,
		Fields: []types.Field{
			{ID: 0, Name: "id", Type: types.TBigInt, NotNull: true},
			{ID: 1, Name: "name", Type: types.TString},
			{ID: 2, Name: "city", Type: types.TString},
			{ID: 3, Name: "amount", Type: types.TDecimal(12, 2)},
			{ID: 4, Name: "qty", Type: types.TInt},
			{ID: 5, Name: "score", Type: types.TDouble},
			{ID: 6, Name: "updated", Type: types.TTimestamp},
		},
		PrimaryKeys:    []string{"id"},
		HighestFieldID: 6,
	}
}

// ingestRun is one bucket's flush in the ingest benchmark's shape:
// a quarter of the rows of batches of 4,096 +U rows over random keys,
// flushed columnar. The caller releases the run.
func ingestRun(b *testing.B, rng *rand.Rand, n int) *Run {
	buf := NewWriteBuffer()
	for _, br := range ingestBatches(b, rng, n) {
		buf.AddBatch(br, 0)
		for _, a := range br.Cols {
			a.Release()
		}
	}
	return buf.FlushRun(columnarLastWins{})
}

// ingestBatches are the change-batch rows of ingestRun, n rows of
// batches of 4,096 rows; the caller releases the arrays.
func ingestBatches(b *testing.B, rng *rand.Rand, n int) []BatchRows {
	s := ingestSchema()
	as, err := types.ArrowSchema(s, false)
	if err != nil {
		b.Fatal(err)
	}
	var out []BatchRows
	seq := int64(0)
	for done := 0; done < 4*n; done += 4096 {
		rows := make([]types.Row, min(4096, 4*n-done))
		for i := range rows {
			rows[i] = types.Row{rng.Int64N(1_000_000), fmt.Sprintf("customer-%08d <user%08d@example.com>", rng.IntN(1e8), rng.IntN(1e8)),
				[]string{"Berlin", "Oslo", "Quito"}[rng.IntN(3)], types.Decimal(rng.Int64N(1e7)), int32(rng.IntN(1000)),
				rng.Float64() * 100, types.Timestamp(1_767_225_600_000_000 + rng.Int64N(86_400_000_000))}
		}
		rec, err := types.BuildRecord(nil, as, rows)
		if err != nil {
			b.Fatal(err)
		}
		br := BatchRows{Cols: rec.Columns()}
		for _, a := range br.Cols {
			a.Retain()
		}
		rec.Release()
		for i, r := range rows {
			if rng.IntN(4) != 0 {
				continue // another bucket's row
			}
			key, err := types.EncodeRowKey(nil, r, []int{0})
			if err != nil {
				b.Fatal(err)
			}
			br.Rows = append(br.Rows, int32(i))
			br.Keys = append(br.Keys, key)
			br.Seqs = append(br.Seqs, seq)
			br.Kinds = append(br.Kinds, types.UpdateAfter)
			seq++
		}
		out = append(out, br)
	}
	return out
}

// BenchmarkFlushRun buffers and flushes one bucket's rows in the ingest
// benchmark's shape (AddBatch, then FlushRun: the sort by key).
func BenchmarkFlushRun(b *testing.B) {
	const n = 6250
	brs := ingestBatches(b, rand.New(rand.NewPCG(1, 1)), n)
	defer func() {
		for _, br := range brs {
			for _, a := range br.Cols {
				a.Release()
			}
		}
	}()
	b.ReportAllocs()
	cpu0 := cpuSeconds()
	rows := 0
	for b.Loop() {
		buf := NewWriteBuffer()
		for _, br := range brs {
			buf.AddBatch(br, 0)
		}
		run := buf.FlushRun(columnarLastWins{})
		rows = run.Len()
		run.Release()
	}
	b.ReportMetric((cpuSeconds()-cpu0)*1e6/float64(b.N*rows), "cpu-us/row")
}

// BenchmarkWriteRun encodes the flush of one bucket in the ingest
// benchmark's shape (WriteRun from change-batch rows) and the compaction
// of four such flushed files (WritePieces from decoded rows, RowRef
// records), reporting process CPU and bytes allocated per row. Pages are
// compressed with zstd level 1, the table default.
func BenchmarkWriteRun(b *testing.B) {
	const n = 6250 // 25,000 rows per commit over 4 buckets
	s := ingestSchema()
	opts := WriterOptions{Compression: Compression{ZstdLevel: 1}}
	rng := rand.New(rand.NewPCG(1, 1))
	report := func(b *testing.B, rows int, cpu0 float64) {
		b.ReportMetric((cpuSeconds()-cpu0)*1e6/float64(b.N*rows), "cpu-us/row")
		b.ReportMetric(0, "ns/op")
	}
	b.Run("flush", func(b *testing.B) {
		run := ingestRun(b, rng, n)
		defer run.Release()
		b.ReportAllocs()
		cpu0 := cpuSeconds()
		for b.Loop() {
			if _, err := WriteRun(run, s, opts); err != nil {
				b.Fatal(err)
			}
		}
		report(b, run.Len(), cpu0)
	})
	b.Run("compact", func(b *testing.B) {
		ctx := context.Background()
		var frs []*FileReader
		for range 4 {
			run := ingestRun(b, rng, n)
			files, err := WriteRun(run, s, opts)
			run.Release()
			if err != nil {
				b.Fatal(err)
			}
			fr, err := OpenFile(ctx, bytes.NewReader(files[0].Data), int64(len(files[0].Data)), s, 0)
			if err != nil {
				b.Fatal(err)
			}
			frs = append(frs, fr)
		}
		// The files' rows as RowRef records, merged as compaction does:
		// sorted by (key, seq), the last of each key kept.
		var all []Record
		for _, fr := range frs {
			for g := range fr.NumRowGroups() {
				bt, err := fr.DecodeBatch(ctx, g, ReadOptions{})
				if err != nil {
					b.Fatal(err)
				}
				for r := range bt.Len() {
					all = append(all, bt.RefRecord(r))
				}
			}
		}
		slices.SortFunc(all, func(x, y Record) int { return compareRecords(&x, &y) })
		var recs []Record
		for i := range all {
			if i+1 < len(all) && bytes.Equal(all[i].Key, all[i+1].Key) {
				continue
			}
			recs = append(recs, all[i])
		}
		if RefOf(&recs[0]) == nil {
			b.Fatal("merged records are not RowRefs")
		}
		b.ReportAllocs()
		cpu0 := cpuSeconds()
		for b.Loop() {
			if _, err := WritePieces(ctx, []Piece{{Records: recs}}, s, opts); err != nil {
				b.Fatal(err)
			}
		}
		report(b, len(recs), cpu0)
	})
}
