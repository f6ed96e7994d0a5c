package stream

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/siltdb/silt/internal/nestedgen"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/types"
	"github.com/twmb/franz-go/pkg/kgo"
)

// nestedFieldsEnvelope is a Debezium create event with the schema
// envelope whose after struct has the fields of cols (name → Connect
// schema, in order) and the payload after (a JSON object).
func nestedFieldsEnvelope(cols [][2]string, after string) string {
	fs := []string{}
	for _, c := range cols {
		fs = append(fs, strings.Replace(c[1], "{", `{"field":`+jsonQuote(c[0])+`,"optional":true,`, 1))
	}
	return `{"schema":{"type":"struct","fields":[{"field":"after","type":"struct","optional":true,"fields":[` + strings.Join(fs, ",") + `]}]},` +
		`"payload":{"op":"c","after":` + after + `}}`
}

// TestEvolveNestedColumns: add-columns maps Connect arrays, maps and
// structs to ARRAY, MAP and ROW columns (nested fields nullable), adds a
// struct field a ROW column lacks by its dotted path (also inside array
// elements and map values), and reports a nested type change, a nested
// map key and an unmappable struct.
func TestEvolveNestedColumns(t *testing.T) {
	s := &types.Schema{Fields: []types.Field{{ID: 0, Name: "id", Type: types.TBigInt, NotNull: true},
		{ID: 1, Name: "addr", Type: mustType(t, "ROW<street STRING>")}, {ID: 2, Name: "tags", Type: mustType(t, "ARRAY<ROW<k STRING>>")},
		{ID: 3, Name: "meta", Type: mustType(t, "MAP<STRING, ROW<a INT>>")}}, PrimaryKeys: []string{"id"}, HighestFieldID: 3}
	for i := range s.Fields {
		types.AssignNestedIDs(&s.Fields[i].Type, func() int { s.HighestFieldID++; return s.HighestFieldID })
	}
	const (
		id     = `{"type":"int64"}`
		street = `{"type":"struct","fields":[{"field":"street","type":"string"}]}`
		tagsV1 = `{"type":"array","items":{"type":"struct","fields":[{"field":"k","type":"string"}]}}`
		metaV1 = `{"type":"map","keys":{"type":"string"},"values":{"type":"struct","fields":[{"field":"a","type":"int32"}]}}`
	)
	for _, tc := range []struct {
		name string
		cols [][2]string
		want string
	}{
		{"no change", [][2]string{{"id", id}, {"addr", street}, {"tags", tagsV1}, {"meta", metaV1}}, "ok"},
		{"fewer struct fields", [][2]string{{"id", id}, {"addr", `{"type":"struct","fields":[{"field":"other","type":"string"}]}`}}, "new: addr.other STRING"},
		{"new nested columns", [][2]string{{"id", id},
			{"a", `{"type":"array","items":{"type":"int32"}}`},
			{"m", `{"type":"map","keys":{"type":"int64"},"values":{"type":"array","items":{"type":"string","name":"io.debezium.data.Uuid"}}}`},
			{"r", `{"type":"struct","fields":[{"field":"x","type":"int64","name":"io.debezium.time.MicroTimestamp"},{"field":"y","type":"struct","fields":[{"field":"z","type":"boolean","optional":false}]}]}`}},
			"new: a ARRAY<INT>, m MAP<BIGINT, ARRAY<UUID>>, r ROW<x TIMESTAMP, y ROW<z BOOLEAN>>"},
		{"struct gains fields", [][2]string{{"id", id},
			{"addr", `{"type":"struct","fields":[{"field":"street","type":"string"},{"field":"zip","type":"int32"},{"field":"geo","type":"struct","fields":[{"field":"lat","type":"double"}]}]}`},
			{"tags", `{"type":"array","items":{"type":"struct","fields":[{"field":"k","type":"string"},{"field":"v","type":"int64"}]}}`},
			{"meta", `{"type":"map","keys":{"type":"string"},"values":{"type":"struct","fields":[{"field":"a","type":"int32"},{"field":"b","type":"string"}]}}`}},
			"new: addr.zip INT, addr.geo ROW<lat DOUBLE>, tags.element.v BIGINT, meta.value.b STRING"},
		{"nested type change", [][2]string{{"id", id}, {"addr", `{"type":"struct","fields":[{"field":"street","type":"int64"}]}`}}, RuleTypeChange + " addr"},
		{"JSON text into a ROW", [][2]string{{"id", id}, {"addr", `{"type":"string","name":"io.debezium.data.Json"}`}}, "ok"},
		{"array into a ROW", [][2]string{{"id", id}, {"addr", tagsV1}}, RuleTypeChange + " addr"},
		{"struct map key", [][2]string{{"id", id}, {"n", `{"type":"map","keys":` + street + `,"values":{"type":"int32"}}`}}, RuleUnsupportedType + " n"},
		{"array without items", [][2]string{{"id", id}, {"n", `{"type":"array"}`}}, RuleUnsupportedType + " n"},
		{"struct with a bad field name", [][2]string{{"id", id}, {"n", `{"type":"struct","fields":[{"field":"a-b","type":"int32"}]}`}}, RuleUnsupportedType + " n"},
		{"struct with a field twice", [][2]string{{"id", id}, {"n", `{"type":"struct","fields":[{"field":"a","type":"int32"},{"field":"A","type":"int32"}]}`}}, RuleUnsupportedType + " n"},
		{"too deep", [][2]string{{"id", id}, {"n", strings.Repeat(`{"type":"array","items":`, 40) + `{"type":"int32"}` + strings.Repeat("}", 40)}}, RuleUnsupportedType + " n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := mustFormat(t, "debezium-json", s, FormatOptions{SchemaEvolution: EvolutionAddColumns})
			_, err := f.Decode(nil, nil, []byte(nestedFieldsEnvelope(tc.cols, `{"id":1}`)))
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
			case errors.As(err, &re):
				got = re.Rule + " " + re.Column
			case err != nil:
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("got %q (%v), want %q", got, err, tc.want)
			}
		})
	}
}

// widen is the value v of type from as a column of type to reads it: ROW
// fields by name (fields from lacks are NULL), recursively.
func widen(v types.Value, from, to types.DataType) types.Value {
	if v == nil || !to.IsNested() {
		return v
	}
	switch to.Kind {
	case types.ArrayKind:
		out := types.List{}
		for _, e := range v.(types.List) {
			out = append(out, widen(e, from.Elem(), to.Elem()))
		}
		return out
	case types.MapKind:
		out := types.Map{}
		for _, e := range v.(types.Map) {
			out = append(out, types.MapEntry{Key: e.Key, Value: widen(e.Value, from.Value(), to.Value())})
		}
		return out
	}
	out := make(types.Struct, len(to.Fields))
	for i, f := range to.Fields {
		if j := nestedFieldIndex(from.Fields, f.Name); j >= 0 {
			out[i] = widen(v.(types.Struct)[j], from.Fields[j].Type, f.Type)
		}
	}
	return out
}

// TestSchemaEvolutionNested runs a sink with add-columns over a Debezium
// topic whose schema gains a struct column, then a field of that struct
// and an array of structs, then a field of the array's structs and a map
// column. The catalog adds each (nested fields with new ids, unique in
// the table), rows written before read NULL for the fields they lack,
// the table equals the oracle, and a record whose struct field changes
// type is dead-lettered as a type change of its column.
func TestSchemaEvolutionNested(t *testing.T) {
	seed := testSeed(t)
	rng := rand.New(rand.NewPCG(seed, 11))
	c := newCluster(t, 1, "cdc", "cdc-dlq")
	cat := newCatalog(objstore.NewMem())
	tb := createTable(t, cat, "evo", &types.Schema{Fields: []types.Field{{Name: "id", Type: types.TBigInt, NotNull: true}, {Name: "name", Type: types.TString}}, PrimaryKeys: []string{"id"}})
	versions := []string{
		"name STRING",
		"name STRING, addr ROW<street STRING, city STRING>",
		"name STRING, addr ROW<street STRING, city STRING, zip INT>, tags ARRAY<ROW<k STRING>>",
		"name STRING, addr ROW<street STRING, city STRING, zip INT>, tags ARRAY<ROW<k STRING, at TIMESTAMP>>, meta MAP<STRING, BIGINT>",
	}
	final := mustType(t, "ROW<"+versions[len(versions)-1]+">")
	e := nestedEnc{r: rng, envelope: true}
	oracle := map[int64]types.Row{}
	bad := map[int64]string{}
	var recs []*kgo.Record
	n := int64(120 + rng.IntN(80))
	for off := range n {
		ver := min(int(off*int64(len(versions))/n), len(versions)-1)
		vt := mustType(t, "ROW<"+versions[ver]+">")
		k := rng.Int64N(10)
		var cols [][2]string
		after := []string{`"id":` + strconv.FormatInt(k, 10)}
		want := types.Row{k}
		st := finite(nestedgen.Value(rng, vt)).(types.Struct)
		for i, f := range vt.Fields {
			cs, _ := json.Marshal(connectOf(f.Type))
			cols = append(cols, [2]string{f.Name, string(cs)})
			after = append(after, jsonQuote(f.Name)+":"+e.enc(st[i], f.Type))
		}
		for _, f := range final.Fields {
			var v types.Value
			if j := nestedFieldIndex(vt.Fields, f.Name); j >= 0 {
				v = widen(st[j], vt.Fields[j].Type, f.Type)
			}
			want = append(want, v)
		}
		if ver >= 2 && rng.IntN(12) == 0 {
			// addr.city turns into a number: a type change of addr.
			changed := strings.Replace(cols[1][1], `"field":"city","optional":true,"type":"string"`, `"field":"city","optional":true,"type":"int32"`, 1)
			if changed == cols[1][1] {
				t.Fatalf("test bug: no city field in %s", cols[1][1])
			}
			cols[1][1] = changed
			bad[off] = RuleTypeChange + " addr"
		}
		cols = append([][2]string{{"id", `{"type":"int64"}`}}, cols...)
		value := nestedFieldsEnvelope(cols, "{"+strings.Join(after, ",")+"}")
		recs = append(recs, &kgo.Record{Topic: "cdc", Key: []byte(strconv.FormatInt(k, 10)), Value: []byte(value)})
		if bad[off] == "" {
			oracle[k] = want
		}
	}
	if len(bad) == 0 || !strings.Contains(string(recs[len(recs)-1].Value), `"meta"`) {
		t.Logf("no misfit drawn this seed")
	}
	produceSync(t, producer(t, c), recs...)
	f, err := NewFormat("debezium-json", tb.Schema(), FormatOptions{SchemaEvolution: EvolutionAddColumns})
	if err != nil {
		t.Fatal(err)
	}
	ev := &testEvolver{cat: cat, db: "db", name: "evo"}
	s, stop := runSink(t, tb, Options{
		Brokers: c.ListenAddrs(), Topics: []string{"cdc"}, Group: "g", Member: "m", Format: f, Evolver: ev,
		DLQTopic: "cdc-dlq", CommitInterval: time.Duration(10+rng.IntN(40)) * time.Millisecond,
		MaxPollRecords: 1 + rng.IntN(100), ClientOpts: fastGroup(), Logf: testLogf(t), Rand: sinkRand(seed),
	})
	waitCaughtUp(t, tb, "g", "cdc", map[int32]int64{0: n}, 30*time.Second)
	if err := stop(); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	latest, err := cat.LoadTable(context.Background(), "db", "evo")
	if err != nil {
		t.Fatal(err)
	}
	ls := latest.Schema()
	if got := types.TStruct(ls.Fields[1:]...).String(); got != final.String() {
		t.Fatalf("columns %s, want %s", got, final)
	}
	ids := map[int]string{}
	var walk func(path string, fs []types.Field)
	walk = func(path string, fs []types.Field) {
		for _, f := range fs {
			p := path + f.Name
			if prev, dup := ids[f.ID]; dup || f.ID > ls.HighestFieldID {
				t.Errorf("field %s has id %d (also %q; highest %d)", p, f.ID, prev, ls.HighestFieldID)
			}
			ids[f.ID] = p
			if f.NotNull && p != "id" && f.Name != types.KeyFieldName {
				t.Errorf("added field %s is NOT NULL", p)
			}
			walk(p+".", f.Type.Fields)
		}
	}
	walk("", ls.Fields)
	checkNestedTable(t, latest, oracle)
	checkEvolutionDLQ(t, consumeAll(t, c, "cdc-dlq"), bad)
	if m := s.Metrics().Snapshot(); m.ColumnsAdded != 5 {
		t.Errorf("metrics: %d columns added, want 5 (addr, addr.zip, tags, tags.element.at, meta)", m.ColumnsAdded)
	}
	if n := ev.calls.Load(); n != 3 {
		t.Errorf("AddColumns called %d times, want 3 (one per schema change)", n)
	}
}

// TestHoldsNested: which nested source types a column takes.
func TestHoldsNested(t *testing.T) {
	for _, c := range []struct {
		col, src string
		ok       bool
	}{
		{"ARRAY<BIGINT>", "ARRAY<INT>", true},
		{"ARRAY<INT>", "ARRAY<BIGINT>", false},
		{"MAP<STRING, DOUBLE>", "MAP<STRING, INT>", true},
		{"MAP<INT, STRING>", "MAP<BIGINT, STRING>", false},
		{"ROW<a INT, b STRING>", "ROW<a INT>", true},
		{"ROW<a INT>", "ROW<a INT, z STRING>", true}, // z is added (or ignored)
		{"ROW<a INT>", "ROW<A STRING>", false},
		{"ROW<a INT>", "ARRAY<INT>", false},
		{"ARRAY<INT>", "STRING", true}, // JSON text
		{"STRING", "ROW<a INT>", false},
		{"ARRAY<ROW<t TIMESTAMP>>", "ARRAY<ROW<t BIGINT>>", true}, // epoch numbers
	} {
		if got := holds(mustType(t, c.col), mustType(t, c.src)); got != c.ok {
			t.Errorf("holds(%s, %s) = %v, want %v", c.col, c.src, got, c.ok)
		}
	}
}
