package stream

import (
	"encoding/json"
	"math/rand/v2"
	"testing"
)

// Decode-only benchmarks of debezium-json, the one-pass decoder next to
// the map-based reference, on events with the Kafka Connect schema
// envelope (JsonConverter's default, schemas.enable=true) and without:
//
//	go test ./stream -run '^$' -bench BenchmarkDecodeDebezium -cpuprofile cpu.out

// accountsConnectSchema is the envelope schema of accountsSchema's events,
// with the logical types Debezium's PostgreSQL connector gives.
func accountsConnectSchema() json.RawMessage {
	fields := []map[string]any{
		{"field": "id", "type": "int64", "optional": false},
		{"field": "name", "type": "string", "optional": false},
		{"field": "amount", "type": "string", "optional": true},
		{"field": "day", "type": "int32", "optional": true, "name": "io.debezium.time.Date", "version": 1},
		{"field": "ts", "type": "int64", "optional": true, "name": "io.debezium.time.MicroTimestamp", "version": 1},
		{"field": "flag", "type": "boolean", "optional": true},
	}
	src := []map[string]any{{"field": "version", "type": "string", "optional": false}, {"field": "connector", "type": "string", "optional": false},
		{"field": "db", "type": "string", "optional": false}, {"field": "table", "type": "string", "optional": false},
		{"field": "snapshot_id", "type": "int64", "optional": true}, {"field": "ts_ms", "type": "int64", "optional": false}}
	out, _ := json.Marshal(map[string]any{"type": "struct", "name": "bench.accounts.Envelope", "optional": false, "version": 1, "fields": []any{
		map[string]any{"field": "before", "type": "struct", "name": "bench.accounts.Value", "optional": true, "fields": fields},
		map[string]any{"field": "after", "type": "struct", "name": "bench.accounts.Value", "optional": true, "fields": fields},
		map[string]any{"field": "source", "type": "struct", "name": "io.debezium.connector.Source", "optional": false, "fields": src},
		map[string]any{"field": "op", "type": "string", "optional": false},
		map[string]any{"field": "ts_ms", "type": "int64", "optional": true},
	}})
	return out
}

func benchmarkDecode(b *testing.B, f Format, values [][]byte) {
	var bytes int64
	for _, v := range values {
		bytes += int64(len(v))
	}
	b.SetBytes(bytes / int64(len(values)))
	b.ReportAllocs()
	b.ResetTimer()
	var dst []Change
	for i := 0; i < b.N; i++ {
		var err error
		if dst, err = f.Decode(dst[:0], nil, values[i%len(values)]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

func BenchmarkDecodeDebezium(b *testing.B) {
	s := accountsSchema()
	recs := debeziumBench(b, s, "t", 4096, rand.New(rand.NewPCG(1, 2)))
	schema := accountsConnectSchema()
	for _, env := range []bool{true, false} {
		values := make([][]byte, len(recs))
		for i, r := range recs {
			values[i] = r.Value
			if env {
				values[i] = []byte(`{"schema":` + string(schema) + `,"payload":` + string(r.Value) + `}`)
			}
		}
		name := "schemas=false"
		if env {
			name = "schemas=true"
		}
		b.Run(name+"/one-pass", func(b *testing.B) {
			f, err := NewFormat("debezium-json", s, FormatOptions{})
			if err != nil {
				b.Fatal(err)
			}
			benchmarkDecode(b, f, values)
		})
		b.Run(name+"/map-reference", func(b *testing.B) { benchmarkDecode(b, refFormat("debezium-json", s, FormatOptions{}), values) })
	}
}
