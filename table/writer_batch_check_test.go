package table

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/siltdb/silt/objstore"
	"github.com/siltdb/silt/types"
)

// batchCell is one cell of a test batch: a value, or for the row-kind
// column a raw int8 (nil: NULL).
type batchCell = types.Value

// buildRawBatch builds a change batch whose row-kind column holds raw
// int8 values (nil for NULL), which BuildRecord cannot express.
func buildRawBatch(t testing.TB, as *arrow.Schema, rows [][]batchCell) arrow.Record {
	t.Helper()
	rb := array.NewRecordBuilder(memory.DefaultAllocator, as)
	defer rb.Release()
	n := len(as.Fields()) - 1
	for _, r := range rows {
		for c := 0; c < n; c++ {
			if d, ok := r[c].(decimal128.Num); ok { // out of range on purpose
				rb.Field(c).(*array.Decimal128Builder).Append(d)
				continue
			}
			if err := types.AppendValue(rb.Field(c), r[c]); err != nil {
				t.Fatal(err)
			}
		}
		kb := rb.Field(n).(*array.Int8Builder)
		if k, ok := r[n].(int8); ok {
			kb.Append(k)
		} else {
			kb.AppendNull()
		}
	}
	return rb.NewRecord()
}

// TestWriteBatchBadInput: bad rows of a change batch are one-line
// ErrInvalid errors naming the batch row and the column; the rows before
// the bad one are buffered, nothing after it.
func TestWriteBatchBadInput(t *testing.T) {
	ctx := context.Background()
	schema := allTypesTableSchema("deduplicate", 3, false)
	as, err := types.ArrowSchema(schema, true)
	if err != nil {
		t.Fatal(err)
	}
	good := func(id int32, kind int8) []batchCell {
		return []batchCell{"eu", id, int64(1), "x", types.Decimal(5), true, float32(1), 2.0, []byte{1}, types.Date(3), types.Timestamp(4), types.Decimal(6), int32(7), kind}
	}
	keyOnly := func(id int32, kind int8) []batchCell {
		r := make([]batchCell, 14)
		r[0], r[1], r[13] = "eu", id, kind
		return r
	}
	with := func(r []batchCell, col int, v batchCell) []batchCell {
		r[col] = v
		return r
	}
	cases := []struct {
		name string
		bad  []batchCell
		want string
	}{
		{"NULL key column", with(good(9, 0), 1, nil), `column "id"`},
		{"NULL key column of -D", with(keyOnly(9, 3), 0, nil), `column "region"`},
		{"NULL row kind", with(good(9, 0), 13, nil), "NULL in _row_kind"},
		{"row kind too large", good(9, 4), "bad row kind 4"},
		{"negative row kind", good(9, -1), "bad row kind -1"},
		{"NOT NULL column", with(good(9, 2), 12, nil), `column "qty" is NOT NULL`},
		{"decimal beyond precision", with(good(9, 0), 4, types.Decimal(1e10)), `"price"`},
		{"decimal beyond 64 bits", with(good(9, 0), 11, decimal128.New(1, 0)), `column "big"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tb, err := Open("db.t", objstore.NewMem(), "wh/db.db/t/", schema, Env{})
			if err != nil {
				t.Fatal(err)
			}
			// A -D row may leave NOT NULL columns NULL; the bad row is row 2.
			rec := buildRawBatch(t, as, [][]batchCell{good(1, 0), keyOnly(2, 3), c.bad, good(3, 0)})
			w := tb.NewWriter("u")
			err = w.WriteBatch(ctx, rec)
			if !errors.Is(err, types.ErrInvalid) || !strings.Contains(err.Error(), "batch row 2") ||
				!strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("got %v, want a one-line ErrInvalid naming batch row 2 and %s", err, c.want)
			}
			if _, err := w.Commit(ctx, "c"); err != nil {
				t.Fatal(err)
			}
			rows := latestRowStrings(t, ctx, tb)
			if len(rows) != 1 || !strings.Contains(rows[0], `"eu", 1,`) {
				t.Fatalf("buffered %v, want only the row before the bad one (id 1; id 2 is a delete)", rows)
			}
		})
	}
	// A batch of another schema is refused whole.
	tb, err := Open("db.t", objstore.NewMem(), "wh/db.db/t/", schema, Env{})
	if err != nil {
		t.Fatal(err)
	}
	fields := as.Fields()
	fields[2].Type = arrow.PrimitiveTypes.Int32
	rec := buildRawBatch(t, arrow.NewSchema(fields, nil), nil)
	if err := tb.NewWriter("u").WriteBatch(ctx, rec); !errors.Is(err, types.ErrInvalid) || !strings.Contains(err.Error(), `"amount"`) {
		t.Fatalf("got %v, want an error naming column amount", err)
	}
}

// TestEncodeKeysMatchesEncodeRowKey: the keys WriteBatch encodes from
// Arrow columns are types.EncodeRowKey's, byte for byte.
func TestEncodeKeysMatchesEncodeRowKey(t *testing.T) {
	seed := testSeed(t)
	rng := rand.New(rand.NewPCG(seed, 5))
	schema := allTypesTableSchema("deduplicate", 1, false)
	as, err := types.ArrowSchema(schema, false)
	if err != nil {
		t.Fatal(err)
	}
	var rows []types.Row
	for range 500 {
		r := randAllTypesRow(rng, 1000, types.Insert)
		r[0] = []string{"", "eu", "a\x00b", "\x00", "ü"}[rng.IntN(5)]
		fill := types.Row{"", int32(0), int64(-1), "z\x00", types.Decimal(-3), false, float32(0), 0.0, []byte{0}, types.Date(-1), types.Timestamp(-5), types.Decimal(7), int32(0)}
		for i, v := range r {
			if v == nil {
				r[i] = fill[i] // key columns are never NULL
			}
		}
		rows = append(rows, r)
	}
	rec, err := types.BuildRecord(nil, as, rows)
	if err != nil {
		t.Fatal(err)
	}
	// Every non-float column as a key column, alone and all together.
	var all []int
	for c, f := range schema.Fields {
		if f.Type.Kind == types.Float || f.Type.Kind == types.Double {
			continue
		}
		all = append(all, c)
		for _, idx := range [][]int{{c}} {
			checkEncodeKeys(t, seed, rec, rows, idx)
		}
	}
	checkEncodeKeys(t, seed, rec, rows, all)
}

func checkEncodeKeys(t *testing.T, seed uint64, rec arrow.Record, rows []types.Row, idx []int) {
	t.Helper()
	keys, err := encodeKeys(rec.Columns(), idx, len(rows))
	for r, row := range rows {
		want, werr := types.EncodeRowKey(nil, row, idx)
		if err != nil || werr != nil {
			t.Fatalf("seed %d columns %v: encodeKeys: %v, EncodeRowKey: %v", seed, idx, err, werr)
		}
		if !bytes.Equal(keys[r], want) {
			t.Fatalf("seed %d columns %v row %d: key %x, EncodeRowKey %x", seed, idx, r, keys[r], want)
		}
	}
}

// FuzzWriteBatch decodes a change batch from the input (kinds including
// NULL and out-of-range ones, NULLs in any column) and writes it through
// WriteBatch and row by row through Write: no panic, the same first bad
// row, a one-line ErrInvalid, and the same table after a commit.
func FuzzWriteBatch(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10})
	f.Add([]byte{3, 0, 0, 0, 255, 1, 2, 3, 2, 2, 2, 2, 2})
	f.Add(bytes.Repeat([]byte{1, 7, 0x80, 3}, 20))
	schema := modelSchema("deduplicate", 3, true)
	schema.Fields[2].NotNull = true
	as, err := types.ArrowSchema(schema, true)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ctx := context.Background()
		next := func() byte {
			if len(data) == 0 {
				return 0
			}
			b := data[0]
			data = data[1:]
			return b
		}
		var rows [][]batchCell
		for len(data) > 0 && len(rows) < 64 {
			flags := next()
			r := make([]batchCell, 6)
			if flags&1 == 0 {
				r[0] = []string{"eu", "us", "a/b c"}[int(next())%3]
			}
			if flags&2 == 0 {
				r[1] = int32(next() % 16)
			}
			if flags&4 == 0 {
				r[2] = int64(int8(next()))
			}
			if flags&8 == 0 {
				r[3] = strings.Repeat("n", int(next()%8))
			}
			if flags&16 == 0 {
				r[4] = types.Decimal(int64(int8(next())) * 1e6) // may exceed DECIMAL(10,2)
			}
			if flags&32 == 0 {
				r[5] = int8(next()%6) - 1 // -1..4: two of them bad
			}
			rows = append(rows, r)
		}
		open := func() *Table {
			tb, err := Open("db.t", objstore.NewMem(), "wh/db.db/t/", schema, Env{})
			if err != nil {
				t.Fatal(err)
			}
			return tb
		}
		rowT, batchT := open(), open()
		rw, bw := rowT.NewWriter("u"), batchT.NewWriter("u")
		firstBad := -1
		for i, r := range rows {
			k, ok := r[5].(int8)
			if !ok {
				firstBad = i
				break
			}
			if err := rw.Write(ctx, types.RowKind(k), types.Row(r[:5])); err != nil {
				firstBad = i
				break
			}
		}
		rec := buildRawBatch(t, as, rows)
		err := bw.WriteBatch(ctx, rec)
		switch {
		case firstBad < 0 && err != nil:
			t.Fatalf("WriteBatch: %v; Write took every row", err)
		case firstBad >= 0 && (!errors.Is(err, types.ErrInvalid) || !strings.Contains(err.Error(), fmt.Sprintf("batch row %d:", firstBad)) || strings.Contains(err.Error(), "\n")):
			t.Fatalf("WriteBatch: %v; want a one-line ErrInvalid naming batch row %d", err, firstBad)
		}
		for _, w := range []*Writer{rw, bw} {
			if _, err := w.Commit(ctx, "c"); err != nil {
				t.Fatal(err)
			}
		}
		if d := diffRowLists(latestRowStrings(t, ctx, batchT), latestRowStrings(t, ctx, rowT)); d != "" {
			t.Fatalf("WriteBatch table differs from the Write table:\n%s", d)
		}
	})
}
