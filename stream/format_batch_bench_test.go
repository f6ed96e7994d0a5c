package stream

import (
	"encoding/json"
	"math/rand/v2"
	"testing"

	"github.com/siltdb/silt/types"
)

// BenchmarkDecodeBatchDebezium: debezium-json decoded into change batches
// (the sink's path: the fast path, Decode for what it leaves) next to
// the row decoder on the same events, on one core:
//
//	go test ./stream -run '^$' -bench BenchmarkDecodeBatchDebezium -cpuprofile cpu.out
func BenchmarkDecodeBatchDebezium(b *testing.B) {
	s := accountsSchema()
	recs := debeziumBench(b, s, "t", 4096, rand.New(rand.NewPCG(1, 2)))
	// amount as a Connect Decimal, as decimal.handling.mode=precise gives.
	var schema map[string]any
	if err := json.Unmarshal(accountsConnectSchema(), &schema); err != nil {
		b.Fatal(err)
	}
	for _, img := range schema["fields"].([]any)[:2] {
		for _, fl := range img.(map[string]any)["fields"].([]any) {
			if f := fl.(map[string]any); f["field"] == "amount" {
				f["type"], f["name"], f["parameters"] = "bytes", "org.apache.kafka.connect.data.Decimal", map[string]string{"scale": "2"}
			}
		}
	}
	env, _ := json.Marshal(schema)
	values := make([][]byte, len(recs))
	for i, r := range recs {
		values[i] = r.Value
		if r.Value == nil {
			continue
		}
		var ev map[string]any
		if err := json.Unmarshal(r.Value, &ev); err != nil {
			b.Fatal(err)
		}
		for _, img := range []string{"before", "after"} {
			if m, ok := ev[img].(map[string]any); ok {
				if a, ok := m["amount"].(string); ok {
					d, err := types.ParseDecimal(a, types.TDecimal(10, 2))
					if err != nil {
						b.Fatal(err)
					}
					m["amount"] = connectDecimalBytes(int64(d), 1)
				}
			}
		}
		p, _ := json.Marshal(ev)
		values[i] = []byte(`{"schema":` + string(env) + `,"payload":` + string(p) + `}`)
	}
	f, err := NewFormat("debezium-json", s, FormatOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("batch", func(b *testing.B) {
		cb, err := newChangeBuilder(s)
		if err != nil {
			b.Fatal(err)
		}
		defer cb.Release()
		var bytes int64
		for _, v := range values {
			bytes += int64(len(v))
		}
		b.SetBytes(bytes / int64(len(values)))
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := decodeBatch(f, cb, nil, values[i%len(values)], true); err != nil {
				b.Fatal(err)
			}
			if cb.Len() >= 4096 {
				cb.NewRecord().Release()
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
	})
	b.Run("rows", func(b *testing.B) { benchmarkDecode(b, f, values) })
}
