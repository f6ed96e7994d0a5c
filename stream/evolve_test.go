package stream

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/siltdb/silt/catalog"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/table"
	"github.com/siltdb/silt/types"
	"github.com/twmb/franz-go/pkg/kgo"
)

// cf is one field of a Kafka Connect struct schema.
type cf struct {
	name, typ, logical string
	params             map[string]string
}

// dbzEnvelope renders a Debezium event with the schema envelope: the
// before/after structs have fields; after is the row (nil: op d with
// before = row).
func dbzEnvelope(fields []cf, op string, row map[string]any) string {
	var fs []map[string]any
	for _, f := range fields {
		m := map[string]any{"field": f.name, "type": f.typ, "optional": true}
		if f.logical != "" {
			m["name"] = f.logical
		}
		if f.params != nil {
			m["parameters"] = f.params
		}
		fs = append(fs, m)
	}
	img := map[string]any{"type": "struct", "optional": true, "name": "srv.db.t.Value", "fields": fs}
	before, after := img, img
	schema := map[string]any{"type": "struct", "name": "srv.db.t.Envelope", "fields": []any{
		mergeField(before, "before"), mergeField(after, "after"),
		map[string]any{"field": "op", "type": "string"},
	}}
	payload := map[string]any{"op": op, "before": nil, "after": row}
	if op == "d" {
		payload["before"], payload["after"] = row, nil
	}
	out, _ := json.Marshal(map[string]any{"schema": schema, "payload": payload})
	return string(out)
}

func mergeField(m map[string]any, name string) map[string]any {
	out := map[string]any{"field": name}
	for k, v := range m {
		out[k] = v
	}
	return out
}

// connectDecimalText encodes an unscaled value the way Kafka Connect does.
func connectDecimalText(unscaled int64) string {
	b := big.NewInt(unscaled).Bytes()
	if len(b) == 0 || b[0]&0x80 != 0 {
		b = append([]byte{0}, b...)
	}
	return base64.StdEncoding.EncodeToString(b)
}

func usersSchema() *types.Schema {
	return &types.Schema{
		Fields:      []types.Field{{Name: "id", Type: types.TBigInt}, {Name: "name", Type: types.TString}},
		PrimaryKeys: []string{"id"},
	}
}

var (
	usersV1 = []cf{{name: "id", typ: "int64"}, {name: "name", typ: "string"}}
	usersV2 = append(append([]cf(nil), usersV1...),
		cf{name: "qty", typ: "int32"},
		cf{name: "price", typ: "bytes", logical: "org.apache.kafka.connect.data.Decimal", params: map[string]string{"scale": "2", "connect.decimal.precision": "10"}},
		cf{name: "day", typ: "int32", logical: "io.debezium.time.Date"},
		cf{name: "at", typ: "int64", logical: "io.debezium.time.MicroTimestamp"},
		cf{name: "ok", typ: "boolean"},
		cf{name: "ratio", typ: "double"},
	)
)

// TestDebeziumEnvelopeAnalysis checks the type mapping and the findings of
// add-columns on single records, without Kafka.
func TestDebeziumEnvelopeAnalysis(t *testing.T) {
	s := usersSchema()
	s.Fields = append(s.Fields, types.Field{Name: "amount", Type: types.TDecimal(12, 3)})
	for i := range s.Fields {
		s.Fields[i].ID = i
	}
	s.HighestFieldID = len(s.Fields) - 1
	row := map[string]any{"id": 1, "name": "a"}
	for _, tc := range []struct {
		name   string
		fields []cf
		evolve string
		want   string // "ok", "new: …", or "rule column"
	}{
		{"no change", usersV1, "add-columns", "ok"},
		{"evolution none ignores new fields", usersV2, "none", "ok"},
		{"new columns", usersV2, "add-columns", "new: qty INT, price DECIMAL(10,2), day DATE, at TIMESTAMP, ok BOOLEAN, ratio DOUBLE"},
		{"more types", append(append([]cf(nil), usersV1...), cf{name: "n", typ: "int64", logical: "io.debezium.time.NanoTimestamp"},
			cf{name: "z", typ: "string", logical: "io.debezium.time.ZonedTimestamp"}, cf{name: "b", typ: "bytes"}, cf{name: "f", typ: "float"},
			cf{name: "y", typ: "int32", logical: "io.debezium.time.Year"}), "add-columns", "new: n TIMESTAMP, z TIMESTAMP_LTZ, b BYTES, f FLOAT, y INT"},
		{"decimal of 30 digits", append(append([]cf(nil), usersV1...), cf{name: "big", typ: "bytes", logical: "org.apache.kafka.connect.data.Decimal",
			params: map[string]string{"scale": "2", "connect.decimal.precision": "30"}}), "add-columns", "new: big DECIMAL(30,2)"},
		{"decimal too wide", append(append([]cf(nil), usersV1...), cf{name: "big", typ: "bytes", logical: "org.apache.kafka.connect.data.Decimal",
			params: map[string]string{"scale": "2", "connect.decimal.precision": "39"}}), "add-columns", RuleUnsupportedType + " big"},
		{"variable-scale decimal as a new column", append(append([]cf(nil), usersV1...), cf{name: "big", typ: "struct", logical: "io.debezium.data.VariableScaleDecimal"}),
			"add-columns", RuleUnsupportedType + " big"},
		{"variable-scale decimal into a DECIMAL column", []cf{{name: "id", typ: "int64"}, {name: "amount", typ: "struct", logical: "io.debezium.data.VariableScaleDecimal"}}, "add-columns", "ok"},
		{"decimal without precision", append(append([]cf(nil), usersV1...), cf{name: "big", typ: "bytes", logical: "org.apache.kafka.connect.data.Decimal",
			params: map[string]string{"scale": "2"}}), "add-columns", RuleUnsupportedType + " big"},
		{"struct", append(append([]cf(nil), usersV1...), cf{name: "addr", typ: "struct"}), "add-columns", RuleUnsupportedType + " addr"},
		{"bad name", append(append([]cf(nil), usersV1...), cf{name: "bad-name", typ: "string"}), "add-columns", RuleAlterRefused + " bad-name"},
		{"type change", []cf{{name: "id", typ: "int64"}, {name: "name", typ: "int64"}}, "add-columns", RuleTypeChange + " name"},
		{"narrowed key", []cf{{name: "id", typ: "string"}, {name: "name", typ: "string"}}, "add-columns", RuleTypeChange + " id"},
		{"widening source fits", []cf{{name: "id", typ: "int32"}, {name: "name", typ: "string"}, {name: "amount", typ: "bytes",
			logical: "org.apache.kafka.connect.data.Decimal", params: map[string]string{"scale": "2", "connect.decimal.precision": "10"}}}, "add-columns", "ok"},
		{"decimal scale grows", []cf{{name: "id", typ: "int64"}, {name: "amount", typ: "bytes",
			logical: "org.apache.kafka.connect.data.Decimal", params: map[string]string{"scale": "4", "connect.decimal.precision": "10"}}}, "add-columns", RuleTypeChange + " amount"},
		{"key dropped", []cf{{name: "name", typ: "string"}}, "add-columns", RuleKeyDropped + " id"},
		{"decimal as text fits", []cf{{name: "id", typ: "int64"}, {name: "amount", typ: "string"}}, "add-columns", "ok"},
		{"number into a STRING column", []cf{{name: "id", typ: "int64"}, {name: "name", typ: "double"}}, "add-columns", RuleTypeChange + " name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := NewFormat("debezium-json", s, FormatOptions{SchemaEvolution: tc.evolve})
			if err != nil {
				t.Fatal(err)
			}
			_, err = f.Decode(nil, nil, []byte(dbzEnvelope(tc.fields, "c", row)))
			var nc *NewColumnsError
			var re *RecordError
			got := "ok"
			switch {
			case errors.As(err, &nc):
				parts := make([]string, len(nc.Columns))
				for i, c := range nc.Columns {
					parts[i] = c.Name + " " + c.Type.String()
				}
				got = "new: " + strings.Join(parts, ", ")
				if ReasonOf(err) != ReasonSchema {
					t.Errorf("a new-columns error must be schema-incompatible for sinks without an evolver, got %q", ReasonOf(err))
				}
			case errors.As(err, &re):
				got = re.Rule + " " + re.Column
				if re.Reason != ReasonSchema {
					t.Errorf("reason %q", re.Reason)
				}
			case err != nil:
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("got %q (%v), want %q", got, err, tc.want)
			}
		})
	}
	if _, err := NewFormat("json", s, FormatOptions{SchemaEvolution: "add-columns"}); !errors.Is(err, types.ErrInvalid) {
		t.Fatalf("json with add-columns: %v", err)
	}
	if _, err := NewFormat("debezium-json", s, FormatOptions{SchemaEvolution: "sometimes"}); !errors.Is(err, types.ErrInvalid) {
		t.Fatalf("bad schema-evolution: %v", err)
	}
}

// testEvolver is the sink's SchemaEvolver over a catalog (what cmd/silt
// wires), counting calls; refuse, when set, replaces the ALTER.
type testEvolver struct {
	cat      *catalog.Catalog
	db, name string
	calls    atomic.Int64
	refuse   error
}

func (e *testEvolver) AddColumns(ctx context.Context, cols []NewColumn) error {
	e.calls.Add(1)
	if e.refuse != nil {
		return e.refuse
	}
	changes := make([]catalog.SchemaChange, len(cols))
	for i, c := range cols {
		changes[i] = catalog.SchemaChange{Kind: catalog.AddColumn, Column: c.Name, Type: c.Type, Comment: c.Comment, IfNotExists: true}
	}
	_, err := e.cat.AlterTable(ctx, e.db, e.name, changes)
	return err
}

// evoRow is the oracle's view of one key: how often and at which offsets
// it was applied, and the last non-null value of each later column.
type evoRow struct {
	cnt, sumOff int64
	name        string
	extra       map[string]string // column → formatted value
}

// evolutionTopic produces a Debezium topic whose schema gains six columns
// mid-stream, with records that do not fit interleaved; it returns the
// oracle and the offsets that must be dead-lettered with their rules.
func evolutionTopic(t *testing.T, cl *kgo.Client, rng *rand.Rand) (map[int64]*evoRow, map[int64]string, int64, int64) {
	fieldsV1 := []cf{{name: "id", typ: "int64"}, {name: "cnt", typ: "int64"}, {name: "sum_off", typ: "int64"}, {name: "name", typ: "string"}}
	fieldsV2 := append(append([]cf(nil), fieldsV1...), usersV2[2:]...)
	oracle := map[int64]*evoRow{}
	bad := map[int64]string{}
	var recs []*kgo.Record
	const n1, n2 = 60, 90
	firstV2 := int64(-1)
	for off := int64(0); off < n1+n2; off++ {
		k := rng.Int64N(10) // keys 0..9 before the change
		v2 := off >= n1
		if v2 {
			k = rng.Int64N(8) // keys 8 and 9 are never written after it: NULLs
		}
		row := map[string]any{"id": k, "cnt": 1, "sum_off": off, "name": fmt.Sprintf("n%d", off)}
		fields := fieldsV1
		var extra map[string]string
		switch {
		case v2 && off%17 == 5:
			// A type change of an existing column: dead-lettered.
			fields = append([]cf{{name: "id", typ: "int64"}, {name: "cnt", typ: "int64"}, {name: "sum_off", typ: "int64"}, {name: "name", typ: "int64"}}, usersV2[2:]...)
			row["name"] = off
			bad[off] = RuleTypeChange + " name"
		case v2 && off%23 == 7:
			// A key field dropped from the schema: dead-lettered.
			fields = fieldsV2[1:]
			delete(row, "id")
			bad[off] = RuleKeyDropped + " id"
		case v2:
			fields = fieldsV2
			if firstV2 < 0 {
				firstV2 = off
			}
			day := 20000 + off
			at := int64(1767225600000000) + off
			row["qty"] = off
			row["price"] = connectDecimalText(off*100 + 25)
			row["day"] = day
			row["at"] = at
			row["ok"] = off%2 == 0
			extra = map[string]string{
				"qty": fmt.Sprint(off), "price": fmt.Sprintf("%d.25", off),
				"day": types.FormatValue(types.Date(day), types.TDate), "at": types.FormatValue(types.Timestamp(at), types.TTimestamp),
				"ok": fmt.Sprint(off%2 == 0),
			}
			if off%3 != 0 { // a null ratio keeps the previous non-null value
				row["ratio"] = float64(off) / 4
				extra["ratio"] = fmt.Sprint(float64(off) / 4)
			}
		}
		recs = append(recs, &kgo.Record{Topic: "cdc", Key: []byte(fmt.Sprint(k)), Value: []byte(dbzEnvelope(fields, "c", row))})
		if _, isBad := bad[off]; isBad {
			continue
		}
		o := oracle[k]
		if o == nil {
			o = &evoRow{extra: map[string]string{}}
			oracle[k] = o
		}
		o.cnt++
		o.sumOff += off
		o.name = fmt.Sprintf("n%d", off)
		for c, v := range extra {
			o.extra[c] = v
		}
	}
	produceSync(t, cl, recs...)
	return oracle, bad, firstV2, n1 + n2
}

// evolutionSchema is an aggregation table: cnt and sum_off count every
// application of a record (a record applied twice or never shows), the
// other columns keep their last non-null value.
func evolutionSchema() *types.Schema {
	return &types.Schema{
		Fields: []types.Field{{Name: "id", Type: types.TBigInt}, {Name: "cnt", Type: types.TBigInt},
			{Name: "sum_off", Type: types.TBigInt}, {Name: "name", Type: types.TString}},
		PrimaryKeys: []string{"id"},
		Options: map[string]string{"bucket": "2", "merge-engine": "aggregation",
			"fields.cnt.aggregate-function": "sum", "fields.sum_off.aggregate-function": "sum"},
	}
}

func checkEvolutionTable(t *testing.T, cat *catalog.Catalog, oracle map[int64]*evoRow) *table.Table {
	t.Helper()
	ctx := context.Background()
	tb, err := cat.LoadTable(ctx, "db", "evo")
	if err != nil {
		t.Fatal(err)
	}
	s := tb.Schema()
	var names []string
	for _, f := range s.Fields {
		names = append(names, f.Name)
		if f.ID >= 4 && (f.NotNull || f.Default != nil || !strings.Contains(f.Comment, "Debezium schema change")) {
			t.Errorf("added column %+v: want nullable, no default, a comment", f)
		}
	}
	if s.ID != 1 || strings.Join(names, ",") != "id,cnt,sum_off,name,qty,price,day,at,ok,ratio" {
		t.Fatalf("schema %d columns %v (change %q): want one ALTER appending qty..ratio", s.ID, names, s.Change)
	}
	scan, err := tb.NewScan(ctx, table.ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var diffs []string
	seen := map[int64]bool{}
	for row, err := range scan.Rows(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		k := row[0].(int64)
		seen[k] = true
		o := oracle[k]
		if o == nil {
			diffs = append(diffs, fmt.Sprintf("key %d not in the oracle", k))
			continue
		}
		if row[1].(int64) != o.cnt || row[2].(int64) != o.sumOff || row[3].(string) != o.name {
			diffs = append(diffs, fmt.Sprintf("key %d: cnt/sum_off/name %v %v %v, oracle %d %d %s", k, row[1], row[2], row[3], o.cnt, o.sumOff, o.name))
		}
		for i := 4; i < len(s.Fields); i++ {
			got, want := "NULL", "NULL"
			if row[i] != nil {
				got = types.FormatValue(row[i], s.Fields[i].Type)
			}
			if v, ok := o.extra[s.Fields[i].Name]; ok {
				want = v
			}
			if got != want {
				diffs = append(diffs, fmt.Sprintf("key %d column %s: %s, oracle %s", k, s.Fields[i].Name, got, want))
			}
		}
	}
	for k := range oracle {
		if !seen[k] {
			diffs = append(diffs, fmt.Sprintf("key %d missing", k))
		}
	}
	sort.Strings(diffs)
	if len(diffs) > 0 {
		t.Fatalf("%d differences from the oracle; first: %v", len(diffs), diffs[:min(len(diffs), 5)])
	}
	if len(oracle[8].extra)+len(oracle[9].extra) != 0 {
		t.Fatalf("test bug: keys 8 and 9 must not be written after the change")
	}
	return tb
}

// checkEvolutionDLQ checks that exactly the bad offsets were dead-lettered,
// with reason, column and rule headers.
func checkEvolutionDLQ(t *testing.T, recs []*kgo.Record, bad map[int64]string) {
	t.Helper()
	got := map[int64]string{}
	for _, r := range recs {
		h := map[string]string{}
		for _, x := range r.Headers {
			h[x.Key] = string(x.Value)
		}
		if h[HeaderReason] != string(ReasonSchema) {
			t.Errorf("DLQ record with reason %q: %s", h[HeaderReason], h[HeaderError])
		}
		var off int64
		fmt.Sscan(h[HeaderSourceOffset], &off)
		got[off] = h[HeaderRule] + " " + h[HeaderColumn] // replays may repeat a record (at least once)
	}
	if fmt.Sprint(got) != fmt.Sprint(bad) {
		t.Fatalf("dead-lettered %v, want %v", got, bad)
	}
}

// TestSchemaEvolutionAddColumns runs a sink with add-columns over a topic
// whose Debezium schema gains six columns mid-stream. The columns are added
// once (nullable, at the end), rows written before read NULL, later ones
// have values, records that do not fit are dead-lettered with their rule,
// and the aggregation table (which counts every application) equals the
// oracle. With crash, the sink dies right after its ALTER, before the
// next commit, and a restarted sink (opened on the old schema) finishes.
func TestSchemaEvolutionAddColumns(t *testing.T) {
	for _, crash := range []bool{false, true} {
		t.Run(fmt.Sprintf("crash=%v", crash), func(t *testing.T) {
			seed := testSeed(t)
			rng := rand.New(rand.NewPCG(seed, 7))
			c := newCluster(t, 1, "cdc", "cdc-dlq")
			fault := objstore.NewFault(objstore.NewMem())
			cat := newCatalog(fault)
			tb := createTable(t, cat, "evo", evolutionSchema())
			oracle, bad, firstV2, end := evolutionTopic(t, producer(t, c), rng)
			f, err := NewFormat("debezium-json", tb.Schema(), FormatOptions{SchemaEvolution: EvolutionAddColumns, UnknownFields: "reject"})
			if err != nil {
				t.Fatal(err)
			}
			ev := &testEvolver{cat: cat, db: "db", name: "evo"}
			opts := Options{
				Brokers: c.ListenAddrs(), Topics: []string{"cdc"}, Group: "g", Member: "m", Format: f, Evolver: ev,
				DLQTopic: "cdc-dlq", CommitInterval: time.Duration(10+rng.IntN(40)) * time.Millisecond,
				MaxPollRecords: 1 + rng.IntN(100), ClientOpts: fastGroup(), Logf: testLogf(t), Rand: sinkRand(seed),
			}
			if crash {
				// Kill the sink when it reads the new schema back right after
				// publishing it: the ALTER is done, nothing after it committed.
				ctx, kill := context.WithCancel(context.Background())
				fault.Add(objstore.Rule{Op: objstore.OpGet, KeyContains: "schema/schema-1", Nth: 1, Err: objstore.ErrInjected, Crash: kill})
				s, err := New(tb, opts)
				if err != nil {
					t.Fatal(err)
				}
				if err := s.Run(ctx); !errors.Is(err, context.Canceled) {
					t.Fatalf("Run after the crash point: %v", err)
				}
				snap, err := tb.Latest(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				stored, err := StoredOffset(snap, "g", TopicPartition{"cdc", 0})
				if err != nil {
					t.Fatal(err)
				}
				if stored > firstV2 {
					t.Fatalf("offset %d stored before the crash, past the first record of the new schema (%d)", stored, firstV2)
				}
				if _, err := cat.CheckAlter(context.Background(), "db", "evo", []catalog.SchemaChange{{Kind: catalog.DropColumn, Column: "qty"}}); err != nil {
					t.Fatalf("the ALTER should have been published before the crash: %v", err)
				}
			}
			// The restarted (or only) sink uses the table object opened on
			// schema 0: the ALTER it repeats is a no-op (IF NOT EXISTS).
			s, stop := runSink(t, tb, opts)
			waitCaughtUp(t, tb, "g", "cdc", map[int32]int64{0: end}, 20*time.Second)
			if err := stop(); err != nil && !errors.Is(err, context.Canceled) {
				t.Fatal(err)
			}
			checkEvolutionTable(t, cat, oracle)
			checkEvolutionDLQ(t, consumeAll(t, c, "cdc-dlq"), bad)
			if n := ev.calls.Load(); n < 1 || n > 2 {
				t.Errorf("AddColumns called %d times, want once (twice with the crash)", n)
			}
			if m := s.Metrics().Snapshot(); !crash && m.ColumnsAdded != 6 {
				t.Errorf("metrics: %d columns added, want 6", m.ColumnsAdded)
			}
		})
	}
}

// TestSchemaEvolutionRefused: when the table refuses the new columns (its
// compatibility mode; simulated, since no mode rejects a nullable column)
// or evolution is off, records of the new schema are dead-lettered with
// the column and rule, the ALTER is tried once, and records of the old
// schema keep flowing.
func TestSchemaEvolutionRefused(t *testing.T) {
	refusal := &catalog.CompatibilityError{Mode: catalog.Forward, Rule: catalog.RuleMissingNotNull, Column: "qty", Reader: 0, Writer: 1, Detail: "simulated"}
	for _, tc := range []struct {
		name      string
		evolution string
		evolver   bool
		rule      string
	}{
		{"mode rejects", EvolutionAddColumns, true, "schema.compatibility=forward: " + catalog.RuleMissingNotNull + " qty"},
		{"no evolver", EvolutionAddColumns, false, RuleUnknownField + " qty"},
		{"evolution none, reject", EvolutionNone, false, RuleUnknownField + " qty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCluster(t, 1, "cdc", "cdc-dlq")
			cat := newCatalog(objstore.NewMem())
			tb := createTable(t, cat, "users", usersSchema())
			var recs []*kgo.Record
			bad := map[int64]string{}
			for off := int64(0); off < 40; off++ {
				fields, row := usersV1, map[string]any{"id": off % 7, "name": fmt.Sprint("n", off)}
				if off >= 10 && off%2 == 0 {
					fields, row["qty"] = usersV2, off
					bad[off] = tc.rule
				}
				recs = append(recs, &kgo.Record{Topic: "cdc", Value: []byte(dbzEnvelope(fields, "c", row))})
			}
			produceSync(t, producer(t, c), recs...)
			f, err := NewFormat("debezium-json", tb.Schema(), FormatOptions{SchemaEvolution: tc.evolution, UnknownFields: "reject"})
			if err != nil {
				t.Fatal(err)
			}
			ev := &testEvolver{cat: cat, db: "db", name: "users", refuse: refusal}
			o := Options{Brokers: c.ListenAddrs(), Topics: []string{"cdc"}, Group: "g", Member: "m", Format: f,
				DLQTopic: "cdc-dlq", CommitInterval: 20 * time.Millisecond, ClientOpts: fastGroup(), Logf: testLogf(t)}
			if tc.evolver {
				o.Evolver = ev
			}
			_, stop := runSink(t, tb, o)
			waitCaughtUp(t, tb, "g", "cdc", map[int32]int64{0: 40}, 20*time.Second)
			if err := stop(); err != nil && !errors.Is(err, context.Canceled) {
				t.Fatal(err)
			}
			checkEvolutionDLQ(t, consumeAll(t, c, "cdc-dlq"), bad)
			if want := map[bool]int64{true: 1}[tc.evolver]; ev.calls.Load() != want {
				t.Errorf("AddColumns called %d times, want %d (a refusal is remembered)", ev.calls.Load(), want)
			}
			got := tableCount(t, tb)
			if got != 7 || tb.Schema().ID != 0 {
				t.Errorf("table has %d keys at schema %d, want 7 at 0", got, tb.Schema().ID)
			}
		})
	}
}

func tableCount(t *testing.T, tb *table.Table) int {
	t.Helper()
	ctx := context.Background()
	scan, err := tb.NewScan(ctx, table.ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, err := range scan.Rows(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	return n
}

// TestSinkFollowsExternalAlter: an ALTER TABLE ADD COLUMN made by someone
// else is picked up at a batch boundary, so later records fill the column
// even with schema-evolution none.
func TestSinkFollowsExternalAlter(t *testing.T) {
	c := newCluster(t, 1, "cdc")
	cat := newCatalog(objstore.NewMem())
	tb := createTable(t, cat, "users", usersSchema())
	f, err := NewFormat("debezium-json", tb.Schema(), FormatOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cl := producer(t, c)
	produceSync(t, cl, &kgo.Record{Topic: "cdc", Value: []byte(dbzEnvelope(usersV1, "c", map[string]any{"id": 1, "name": "a"}))})
	o := Options{Brokers: c.ListenAddrs(), Topics: []string{"cdc"}, Group: "g", Member: "m", Format: f,
		CommitInterval: 20 * time.Millisecond, ClientOpts: fastGroup(), Logf: testLogf(t)}
	_, stop := runSink(t, tb, o)
	waitCaughtUp(t, tb, "g", "cdc", map[int32]int64{0: 1}, 20*time.Second)
	if _, err := cat.AlterTable(context.Background(), "db", "users", []catalog.SchemaChange{{Kind: catalog.AddColumn, Column: "qty", Type: types.TInt}}); err != nil {
		t.Fatal(err)
	}
	// Commits keep happening (one record each) until the sink has looked
	// for a new schema (at most once a second) and switched.
	ctx := context.Background()
	deadline := time.Now().Add(15 * time.Second)
	for i := int64(2); ; i++ {
		produceSync(t, cl, &kgo.Record{Topic: "cdc", Value: []byte(dbzEnvelope(usersV2[:3], "c", map[string]any{"id": i, "name": "b", "qty": i}))})
		waitCaughtUp(t, tb, "g", "cdc", map[int32]int64{0: i}, 20*time.Second)
		nt, err := tb.AtLatestSchema(ctx)
		if err != nil {
			t.Fatal(err)
		}
		row, ok, err := nt.Get(ctx, 0, i)
		if err != nil {
			t.Fatal(err)
		}
		if ok && row[2] != nil {
			if row[2].(int32) != int32(i) {
				t.Fatalf("qty %v, want %d", row[2], i)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the sink never picked up the external ALTER")
		}
	}
	if err := stop(); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
}
