package table

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/types"
)

func scanRows(t *testing.T, tb *Table, cols []int) []types.Row {
	t.Helper()
	ctx := context.Background()
	s, err := tb.NewScan(ctx, ScanOptions{Columns: cols})
	if err != nil {
		t.Fatal(err)
	}
	var out []types.Row
	for row, err := range s.Rows(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, row)
	}
	return out
}

// TestScanProjection checks, for every merge engine, that a projected scan
// yields the full scan's rows with the projected columns equal and, where
// the engine allows projection (deduplicate, first-row), the others NULL
// except the sequence field it reads; with several sorted runs per bucket;
// and for a reader whose schema added columns the files lack (read as
// their defaults).
func TestScanProjection(t *testing.T) {
	seed := testSeed(t)
	for name, schema := range engineConfigs() {
		t.Run(name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 11))
			ctx := context.Background()
			store := objstore.NewMem()
			schema.Options = mapsWith(schema.Options, OptBucket, "2", OptWriteOnly, "true")
			tb, err := Open("db.t", store, "t/", schema, Env{})
			if err != nil {
				t.Fatal(err)
			}
			for c := 0; c < 4; c++ {
				w := tb.NewWriter("w")
				for i := 0; i < 300; i++ {
					id := rng.Int64N(200)
					kind := randKind(rng)
					mustWrite(t, w, kind, retractableRow(tb, kind, randEngineRow(rng, schema, id)))
				}
				if _, err := w.Commit(ctx, fmt.Sprint(c)); err != nil {
					t.Fatal(err)
				}
				if err := w.Close(ctx); err != nil {
					t.Fatal(err)
				}
			}
			// An evolved reader: one added column with a default.
			evolved := engineSchemaLike(schema)
			dflt := "42"
			evolved.HighestFieldID++
			evolved.Fields = append(evolved.Fields, types.Field{ID: evolved.HighestFieldID, Name: "added", Type: types.TBigInt, Default: &dflt})
			etb, err := Open("db.t", store, "t/", evolved, Env{})
			if err != nil {
				t.Fatal(err)
			}
			for _, tab := range []*Table{tb, etb} {
				full := scanRows(t, tab, nil)
				if len(full) == 0 {
					t.Fatal("no rows")
				}
				n := len(tab.Schema().Fields)
				projectable := name != "partial-update" && !strings.HasPrefix(name, "aggregation")
				seqField := tab.Schema().FieldIndex(tab.Schema().Options[OptSequenceField])
				for try := 0; try < 8; try++ {
					cols := []int{}
					for c := 0; c < n; c++ {
						if rng.IntN(2) == 0 {
							cols = append(cols, c)
						}
					}
					if try == 0 && tab == etb {
						cols = []int{n - 1}
					}
					got := scanRows(t, tab, cols)
					if len(got) != len(full) {
						t.Fatalf("cols %v: %d rows, full scan %d", cols, len(got), len(full))
					}
					for i := range got {
						for c := 0; c < n; c++ {
							want := full[i][c]
							if projectable && !slices.Contains(cols, c) && c != seqField {
								want = nil
							}
							if types.Compare(got[i][c], want) != 0 || (got[i][c] == nil) != (want == nil) {
								t.Fatalf("cols %v row %d column %d: %v, want %v (full row %v)", cols, i, c, got[i][c], want, full[i])
							}
						}
					}
				}
				if tab == etb && full[0][len(full[0])-1] != int64(42) {
					t.Fatalf("added column read as %v, want its default 42", full[0][len(full[0])-1])
				}
			}
		})
	}
}

func mapsWith(m map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

func engineSchemaLike(s *types.Schema) *types.Schema {
	c := *s
	c.Fields = slices.Clone(s.Fields)
	c.Options = mapsWith(s.Options)
	c.ID = s.ID + 1
	return &c
}

// TestScanStopAndCancel stops a prefetching, pipelined scan early and
// cancels one mid-way: both end promptly, the second with the context's
// error.
func TestScanStopAndCancel(t *testing.T) {
	ctx := context.Background()
	tb, err := Open("db.t", objstore.NewMem(), "t/", simpleSchema(4), Env{})
	if err != nil {
		t.Fatal(err)
	}
	w := tb.NewWriter("w")
	for i := int64(0); i < 5000; i++ {
		mustWrite(t, w, types.Insert, types.Row{i, "x"})
	}
	if _, err := w.Commit(ctx, "1"); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	s, err := tb.NewScan(ctx, ScanOptions{Columns: []int{1}})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, err := range s.Rows(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		if n++; n == 10 {
			break
		}
	}
	cctx, cancel := context.WithCancel(ctx)
	n = 0
	var last error
	for _, err := range s.Rows(cctx) {
		if err != nil {
			last = err
			break
		}
		if n++; n == 1000 {
			cancel()
		}
	}
	cancel()
	if !errors.Is(last, context.Canceled) {
		t.Fatalf("after cancel: %d rows, error %v; want context.Canceled", n, last)
	}
	if n >= 5000 {
		t.Fatalf("cancelled scan read all %d rows", n)
	}
}
