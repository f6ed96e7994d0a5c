package stream

import (
	"strings"
	"testing"
	"time"
)

func TestParseConfig(t *testing.T) {
	yml := `
warehouse: ./wh
sinks:
  - name: orders
    brokers: [127.0.0.1:9092]
    topics: [orders]
    table: shop.orders
    format: debezium-json
    group: silt-orders
    commit-interval: 5s
    dlq-topic: orders-dlq
    unknown-fields: reject
    schema-evolution: add-columns
    memory-budget: 64mb
  - brokers: [127.0.0.1:9092]
    topics: [clicks, views]
    table: web.events
    format: json
    group: silt-web
`
	c, err := ParseConfig("sinks.yaml", []byte(yml))
	if err != nil {
		t.Fatal(err)
	}
	if c.Warehouse != "./wh" || len(c.Sinks) != 2 || c.Sinks[1].DisplayName() != "web.events" {
		t.Fatalf("%+v", c)
	}
	o, err := c.Sinks[0].Options(accountsSchema())
	if err != nil {
		t.Fatal(err)
	}
	if o.CommitInterval != 5*time.Second || o.MemoryBudget != 64<<20 || o.DLQTopic != "orders-dlq" || o.Format == nil {
		t.Fatalf("%+v", o)
	}
	if !c.Sinks[0].AddsColumns() || c.Sinks[1].AddsColumns() {
		t.Fatalf("schema-evolution: %+v", c.Sinks)
	}
	js := `{"sinks":[{"brokers":["h:1"],"topics":["t"],"table":"t","format":"upsert-json","group":"g"}]}`
	if _, err := ParseConfig("sinks.json", []byte(js)); err != nil {
		t.Fatal(err)
	}
	if _, err := ParseConfig("sinks.conf", []byte(js)); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, text, want string }{
		{"a.yaml", "sinks: []", "no sinks"},
		{"a.yaml", "sinkz: []", "sinkz"},
		{"a.json", `{"sinks":[{"brokers":["h:1"],"topics":["t"],"table":"t","format":"avro","group":"g"}]}`, "avro"},
		{"a.json", `{"sinks":[{"brokers":["h"],"topics":["t"],"table":"t","format":"json","group":"g"}]}`, "host:port"},
		{"a.json", `{"sinks":[{"brokers":["h:1"],"topics":["t/x"],"table":"t","format":"json","group":"g"}]}`, "t/x"},
		{"a.json", `{"sinks":[{"brokers":["h:1"],"topics":["t"],"table":"db.../x","format":"json","group":"g"}]}`, "not allowed"},
		{"a.json", `{"sinks":[{"brokers":["h:1"],"topics":["t"],"table":"t","format":"json","group":""}]}`, "group"},
		{"a.json", `{"sinks":[{"brokers":["h:1"],"topics":["t"],"table":"t","format":"json","group":"g","commit-interval":"soon"}]}`, "commit-interval"},
		{"a.json", `{"sinks":[{"brokers":["h:1"],"topics":["t"],"table":"t","format":"json","group":"g","memory-budget":"1kb"}]}`, "memory budget"},
		{"a.json", `{"sinks":[{"brokers":["h:1"],"topics":["t"],"table":"t","format":"json","group":"g","dlq-topic":"t"}]}`, "dead-letter"},
		{"a.json", `{"sinks":[{"brokers":["h:1"],"topics":["t"],"table":"t","format":"json","group":"g"},{"brokers":["h:1"],"topics":["u"],"table":"t","format":"json","group":"g","name":"x"}]}`, "same member"},
		{"a.json", `{"sinks":[]} trailing`, "after"},
		{"a.json", `{"sinks":[{"brokers":["h:1"],"topics":["t"],"table":"t","format":"debezium-json","group":"g","schema-evolution":"sometimes"}]}`, "schema-evolution"},
		{"a.json", `{"sinks":[{"brokers":["h:1"],"topics":["t"],"table":"t","format":"upsert-json","group":"g","schema-evolution":"add-columns"}]}`, "debezium-json"},
		{"a.yaml", "sinks: [", "config"},
	} {
		_, err := ParseConfig(tc.name, []byte(tc.text))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %q: %v, want an error naming %q", tc.name, tc.text, err, tc.want)
		}
	}
}
