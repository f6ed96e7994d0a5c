package table

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/siltdb/silt/internal/duckdbtest"
	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/types"
)

// TestAggregationNestedDuckDB: product, listagg and collect of random
// per-key inputs, written through a table over several commits and a
// compaction, equal DuckDB's product(), string_agg() over the non-blank
// strings, and flatten(list()) over the non-NULL arrays, in write order.
func TestAggregationNestedDuckDB(t *testing.T) {
	db := duckdbtest.Open(t)
	seed := testSeed(t)
	rng := rand.New(rand.NewPCG(seed, 45))
	ctx := context.Background()
	s := &types.Schema{
		Fields: []types.Field{
			{ID: 0, Name: "id", Type: types.TInt, NotNull: true},
			{ID: 1, Name: "x", Type: types.TBigInt},
			{ID: 2, Name: "d", Type: types.TDouble},
			{ID: 3, Name: "s", Type: types.TString},
			{ID: 4, Name: "arr", Type: types.TArray(types.TInt)},
		},
		PrimaryKeys:    []string{"id"},
		HighestFieldID: 4,
		Options: map[string]string{OptMergeEngine: EngineAggregation, OptWriteBufferSize: "1kb",
			"fields.x.aggregate-function": "product", "fields.d.aggregate-function": "product",
			"fields.s.aggregate-function": "listagg", "fields.s.list-agg-delimiter": "|", "fields.arr.aggregate-function": "collect"},
	}
	for i := range s.Fields {
		types.AssignNestedIDs(&s.Fields[i].Type, func() int { s.HighestFieldID++; return s.HighestFieldID })
	}
	tb, err := Open("db.t", objstore.NewMem(), "wh/db.db/t/", s, Env{})
	if err != nil {
		t.Fatal(err)
	}
	const keys = 40
	var values []string
	w := tb.NewWriter("u")
	for seq := range 400 {
		id := int32(rng.IntN(keys))
		row := types.Row{id, nil, nil, nil, nil}
		sql := []string{fmt.Sprint(id), fmt.Sprint(seq), "NULL", "NULL", "NULL", "NULL"}
		if rng.IntN(4) > 0 {
			x := int64([]int{-2, -1, 1, 2, 3, 0}[rng.IntN(6)])
			row[1], sql[2] = x, fmt.Sprint(x)
		}
		if rng.IntN(4) > 0 {
			d := []float64{0.5, 2, -1, 4, -0.25}[rng.IntN(5)]
			row[2], sql[3] = d, strconv.FormatFloat(d, 'g', -1, 64)
		}
		if rng.IntN(4) > 0 {
			str := []string{"a", "b", "c d", "", "  ", "é"}[rng.IntN(6)]
			row[3], sql[4] = str, "'"+str+"'"
		}
		if rng.IntN(4) > 0 {
			l := types.List{}
			var parts []string
			for range rng.IntN(3) {
				if rng.IntN(5) == 0 {
					l, parts = append(l, nil), append(parts, "NULL")
					continue
				}
				e := int32(rng.IntN(9))
				l, parts = append(l, e), append(parts, fmt.Sprint(e))
			}
			row[4], sql[5] = l, "["+strings.Join(parts, ", ")+"]::INT[]"
		}
		if err := w.Write(ctx, types.Insert, row); err != nil {
			t.Fatal(err)
		}
		values = append(values, "("+strings.Join(sql, ", ")+")")
		if rng.IntN(60) == 0 {
			if _, err := w.Commit(ctx, fmt.Sprint(seq)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := w.Commit(ctx, "last"); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	silt := func() string {
		sc, err := tb.NewScan(ctx, ScanOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var lines []string
		for row, err := range sc.Rows(ctx) {
			if err != nil {
				t.Fatal(err)
			}
			cells := []string{fmt.Sprint(row[0])}
			for c, v := range row[1:] {
				switch {
				case v == nil:
					cells = append(cells, "NULL")
				case c+1 == 2:
					cells = append(cells, strconv.FormatFloat(v.(float64), 'f', -1, 64)) // JavaScript's String below 1e21
				case c+1 == 4:
					cells = append(cells, types.FormatValue(v, s.Fields[4].Type))
				default:
					cells = append(cells, fmt.Sprint(v))
				}
			}
			lines = append(lines, strings.Join(cells, ","))
		}
		return strings.Join(lines, "\n")
	}
	res := db.Run(t, []string{
		"CREATE TABLE input (id INT, seq INT, x BIGINT, d DOUBLE, s VARCHAR, arr INT[])",
		"INSERT INTO input VALUES " + strings.Join(values, ", "),
	}, []string{`SELECT id,
		CAST(product(x) AS BIGINT),
		product(d),
		string_agg(s, '|' ORDER BY seq) FILTER (WHERE trim(s) <> ''),
		CAST(flatten(list(arr ORDER BY seq) FILTER (WHERE arr IS NOT NULL)) AS VARCHAR)
		FROM input GROUP BY id ORDER BY id`})
	if res[0].Err != "" {
		t.Fatalf("duckdb: %s", res[0].Err)
	}
	var want []string
	for _, r := range res[0].Rows {
		var cells []string
		for _, c := range r {
			if c == nil {
				cells = append(cells, "NULL")
			} else {
				cells = append(cells, *c)
			}
		}
		want = append(want, strings.Join(cells, ","))
	}
	for _, when := range []string{"merged on read", "after a full compaction"} {
		if got := silt(); got != strings.Join(want, "\n") {
			t.Fatalf("%s: silt\n%s\nDuckDB\n%s", when, got, strings.Join(want, "\n"))
		}
		if _, err := tb.Compact(ctx, CompactOptions{Full: true}); err != nil {
			t.Fatal(err)
		}
	}
}
