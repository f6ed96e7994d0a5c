package objstore

import (
	"fmt"
	"testing"

	"github.com/siltdb/silt/internal/testkit"
)

// cpuMicros is the user and system CPU time of the process.
func cpuMicros() float64 { return float64(testkit.ProcessCPU().Nanoseconds()) / 1e3 }

// BenchmarkLocalPut writes objects of a flushed data file's size (1 MiB)
// and of a manifest's (8 KiB) to a local store, with Put and with
// PutIfAbsent: what the per-object fixed costs (process CPU
// per write: user and system) (temp file, fsyncs,
// rename or link, lock) and the ETag hashing cost per write.
func BenchmarkLocalPut(b *testing.B) {
	for _, size := range []int{8 << 10, 1 << 20} {
		data := make([]byte, size)
		for i := range data {
			data[i] = byte(i * 7)
		}
		for _, op := range []string{"put", "put-if-absent"} {
			b.Run(fmt.Sprintf("%s/%dKiB", op, size>>10), func(b *testing.B) {
				l, err := NewLocal(b.TempDir())
				if err != nil {
					b.Fatal(err)
				}
				b.SetBytes(int64(size))
				i := 0
				c0 := cpuMicros()
				for b.Loop() {
					i++
					key := fmt.Sprintf("t/bucket-0/data-%d.parquet", i)
					if op == "put" {
						_, err = l.Put(b.Context(), key, data)
					} else {
						_, err = l.PutIfAbsent(b.Context(), key, data)
					}
					if err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric((cpuMicros()-c0)/float64(b.N), "cpu-us/op")
			})
		}
	}
}
