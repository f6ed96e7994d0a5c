package stream

import (
	"strings"
	"testing"
)

// The batch decoder's fuzz targets: on any input it never panics, accepts
// exactly what the row decoder and the map-based reference accept, with
// the same rows, rejects with the row decoder's error, and a rejected
// record leaves nothing in the batch (see batchDiff).

func fuzzBatch(t *testing.T, c batchCase) {
	if len(c.key)+len(c.value) > maxFuzzInput {
		return
	}
	d := newBatchDiff(t)
	d.anyReason = true
	// A row already in the batch, so that a partial append would show.
	d.check(batchCase{name: c.name, opts: c.opts, key: []byte(`{"id":1}`), value: []byte(`{"op":"c","id":1,"name":"a","after":{"id":1,"name":"a"}}`)})
	d.check(c)
	d.finish()
}

func FuzzBatchDebeziumJSON(f *testing.F) {
	for _, cs := range dlqCases() {
		f.Add([]byte(cs.value), cs.value == "", false)
	}
	f.Add([]byte(`{"schema":{"fields":[{"field":"after","fields":[{"field":"amount","name":"org.apache.kafka.connect.data.Decimal","parameters":{"scale":"3"}}]}]},"payload":{"op":"c","after":{"id":1,"name":"a","amount":"gAAAAAAAAAA="}}}`), false, true)
	f.Add([]byte(`{"op":"u","before":{"id":1},"after":{"id":1,"name":"x","ts":-1,"day":-99999999999,"f":3.5e38,"i":2147483648}}`), false, false)
	f.Add([]byte(`{"op":"u","before":{"id":1,"amount":99999999.999},"after":{"id":1,"name":"\u00e9","b":"AAE"}}`), false, false)
	for i, v := range nestedFuzzSeeds {
		if !strings.HasPrefix(v, `{"schema"`) {
			v = `{"op":"u","before":{"id":1,"arr":[1]},"after":` + v + `}`
		}
		f.Add([]byte(v), false, i%2 == 1)
	}
	f.Fuzz(func(t *testing.T, value []byte, null, reject bool) {
		opts := FormatOptions{}
		if reject {
			opts.UnknownFields = "reject"
		}
		if null {
			value = nil
		}
		fuzzBatch(t, batchCase{name: "debezium-json", opts: opts, value: value})
	})
}

func FuzzBatchUpsertJSON(f *testing.F) {
	f.Add([]byte(`{"id":1}`), []byte(`{"id":1,"name":"a","amount":"1.5","b":"AAE=","ok":true}`), false)
	f.Add([]byte(`1`), []byte(nil), true)
	f.Add([]byte(`"7"`), []byte(`{"id":7,"name":"a"}`), false)
	f.Add([]byte(`{"id":7,"name":"k"}`), []byte(`{"id":8,"name":"a"}`), false)
	f.Add([]byte(`{"schema":{},"payload":{"id":"9"}}`), []byte(`{"id":9,"name":"n","f":3.4e38,"d":1e308}`), false)
	for _, v := range nestedFuzzSeeds[:4] {
		f.Add([]byte(`{"id":1}`), []byte(v), false)
	}
	f.Fuzz(func(t *testing.T, key, value []byte, null bool) {
		if null {
			value = nil
		}
		fuzzBatch(t, batchCase{name: "upsert-json", key: key, value: value})
	})
}

func FuzzBatchAppendJSON(f *testing.F) {
	f.Add([]byte(`{"id":1,"name":"a","i":2147483647,"day":"2026-01-02","ts":"2026-01-02T03:04:05Z"}`), "ms")
	f.Add([]byte(`{"id":-9223372036854775808,"name":"a","ts":9223372036854775807}`), "us")
	f.Add([]byte(`{"id":1,"name":"a","amount":-0.001,"ts":-1001}`), "ns")
	f.Add([]byte(`{"id":1,"name":"a","amount":99999999.990,"b":"A==="}`), "ms")
	f.Add([]byte(`{"id":"","name":"a","i":"","day":"","amount":""}`), "ms")
	for _, v := range nestedFuzzSeeds[:4] {
		f.Add([]byte(v), "us")
	}
	f.Fuzz(func(t *testing.T, value []byte, unit string) {
		opts := FormatOptions{}
		switch unit {
		case "us", "ns":
			opts.TimestampUnit = unit
		}
		fuzzBatch(t, batchCase{name: "json", opts: opts, value: value})
	})
}
