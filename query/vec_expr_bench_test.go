package query

import (
	"context"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/siltdb/silt/internal/testkit"
	"github.com/siltdb/silt/types"
)

// benchBatch is a batch of n rows of small values (no expression in
// BenchmarkVecKernels fails on it) with about one NULL in ten.
func benchBatch(b *testing.B, as *arrow.Schema, n int) arrow.Record {
	r := rand.New(rand.NewPCG(5, 6))
	rows := make([]types.Row, n)
	for i := range rows {
		row := make(types.Row, len(vecCols))
		for c, col := range vecCols {
			if r.IntN(10) == 0 {
				continue
			}
			switch col.t.Kind {
			case types.Boolean:
				row[c] = r.IntN(2) == 0
			case types.Int:
				row[c] = int32(r.IntN(1000) + 1)
			case types.BigInt:
				row[c] = int64(r.IntN(1000000) + 1)
			case types.Float:
				row[c] = float32(r.IntN(1000)) / 8
			case types.Double:
				row[c] = float64(r.IntN(1000)) / 8
			case types.DecimalKind:
				row[c] = types.Decimal(r.IntN(10000))
				if col.t.Is128() {
					row[c] = types.Decimal128FromInt64(int64(r.IntN(10000)))
				}
			case types.String:
				row[c] = []string{"alice", "bob", "carol", "dave", "abc", "xyz"}[r.IntN(6)]
			case types.Bytes:
				row[c] = []byte{byte(r.IntN(256))}
			case types.DateKind:
				row[c] = types.Date(19700 + r.IntN(100))
			case types.TimestampKind:
				row[c] = types.Timestamp(1704067200000000 + int64(r.IntN(1000000000)))
			}
		}
		rows[i] = row
	}
	rec, err := types.BuildRecord(memory.DefaultAllocator, as, rows)
	if err != nil {
		b.Fatal(err)
	}
	return rec
}

// BenchmarkVecKernels compares kernels with rowVec, in rows per second:
//
//	go test ./query -run '^$' -bench VecKernels -benchtime 2000x
func BenchmarkVecKernels(b *testing.B) {
	sc, as := vecSchema(b)
	const n = 4096
	rec := benchBatch(b, as, n)
	defer rec.Release()
	for _, src := range []string{
		"i > 500", "l = l2", "g < g2", "s = 'carol'", "d >= DATE '2024-01-01'",
		"i > 100 AND l < 500000 OR b", "i + i2 * 3", "g * 2.5 - g2", "m + m4 * 2", "s LIKE 'a%'",
		"i IN (1, 5, 10, 500, 999)", "CAST(i AS DOUBLE) / 3", "CASE WHEN i > 500 THEN l ELSE l2 END",
	} {
		e, err := bindVecExpr(sc, src)
		if err != nil {
			b.Fatal(err)
		}
		for _, impl := range []struct {
			name string
			v    vecExpr
		}{{"kernel", compileVec(e)}, {"rowVec", &rowVec{e: e}}} {
			b.Run(src+"/"+impl.name, func(b *testing.B) {
				ctx := context.Background()
				// CPU time of this thread too: the machine may be shared, and
				// rows per CPU-second do not depend on the load.
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				cpu0 := threadCPU()
				for i := 0; i < b.N; i++ {
					a, err := impl.v.eval(ctx, rec)
					if err != nil {
						b.Fatal(err)
					}
					a.Release()
				}
				b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
				if cpu := threadCPU() - cpu0; cpu > 0 {
					b.ReportMetric(float64(n)*float64(b.N)/cpu.Seconds(), "rows/cpu-s")
				}
			})
		}
	}
}

// threadCPU is the CPU time the calling OS thread has used (0 where the
// platform does not say).
func threadCPU() time.Duration { return testkit.ThreadCPU() }
