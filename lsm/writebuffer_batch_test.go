package lsm

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/siltdb/silt/types"
)

// columnarLastWins is lastWins announcing itself as LastWriteWins.
type columnarLastWins struct{ lastWins }

func (columnarLastWins) LastWriteWins() bool { return true }

// TestWriteBufferColumnarRun: rows added as records and as change-batch
// rows, flushed columnar (FlushRun + WriteRun), give the same files, byte
// for byte, as the same rows converted to records and flushed through
// Flush and WriteFiles; and Restore puts a run back unchanged.
func TestWriteBufferColumnarRun(t *testing.T) {
	seed := testSeed(t)
	rng := rand.New(rand.NewPCG(seed, 11))
	s := allTypesSchema()
	as, err := types.ArrowSchema(s, false)
	if err != nil {
		t.Fatal(err)
	}
	keyIdx := s.KeyIndexes()
	for it := range 20 {
		col, row := NewWriteBuffer(), NewWriteBuffer()
		n := 1 + rng.IntN(2000)
		keys := 1 + rng.IntN(n)
		var seq int64
		for seq < int64(n) {
			size := 1 + rng.IntN(300)
			rows := make([]types.Row, size)
			kinds := make([]types.RowKind, size)
			for i := range rows {
				r := make(types.Row, len(s.Fields))
				kinds[i] = types.RowKind(rng.IntN(4))
				for c, f := range s.Fields {
					if kinds[i].IsAdd() && (f.NotNull || rng.IntN(5) > 0) {
						r[c] = randValue(rng, f.Type)
					}
				}
				r[keyIdx[0]] = []string{"eu", "us", "a\x00b"}[rng.IntN(3)]
				r[keyIdx[1]] = rng.Int64N(int64(keys))
				rows[i] = r
			}
			if rng.IntN(3) == 0 { // as records
				for i, r := range rows {
					key, err := types.EncodeRowKey(nil, r, keyIdx)
					if err != nil {
						t.Fatal(err)
					}
					rec := Record{Key: key, Seq: seq, Kind: kinds[i], Row: r}
					col.Add(rec)
					row.Add(rec)
					seq++
				}
				continue
			}
			rec, err := types.BuildRecord(nil, as, rows)
			if err != nil {
				t.Fatal(err)
			}
			br := BatchRows{Cols: rec.Columns()}
			for i, r := range rows {
				key, err := types.EncodeRowKey(nil, r, keyIdx)
				if err != nil {
					t.Fatal(err)
				}
				if rng.IntN(4) == 0 {
					continue // another bucket's row
				}
				br.Rows = append(br.Rows, int32(i))
				br.Keys = append(br.Keys, key)
				br.Seqs = append(br.Seqs, seq)
				br.Kinds = append(br.Kinds, kinds[i])
				seq++
			}
			col.AddBatch(br, 1)
			row.AddBatch(br, 1)
			rec.Release()
		}
		opts := WriterOptions{TargetFileSize: int64(1 + rng.IntN(256<<10)), PageBytes: 1 + rng.IntN(8192), RowGroupRows: 1 + rng.IntN(1000)}
		if it%4 == 0 {
			run := col.FlushRun(columnarLastWins{})
			col.Restore(run)
		}
		run := col.FlushRun(columnarLastWins{})
		if it%4 != 0 && run.rows == nil && len(row.brows) > 0 {
			t.Fatalf("seed %d it %d: the run is not columnar", seed, it)
		}
		got, err := WriteRun(run, s, opts)
		if err != nil {
			t.Fatalf("seed %d it %d: %v", seed, it, err)
		}
		run.Release()
		want, err := WriteFiles(row.Flush(lastWins{}), s, opts)
		if err != nil {
			t.Fatalf("seed %d it %d: %v", seed, it, err)
		}
		if len(got) != len(want) {
			t.Fatalf("seed %d it %d: %d files, want %d", seed, it, len(got), len(want))
		}
		for i := range got {
			if !bytes.Equal(got[i].Data, want[i].Data) {
				t.Fatalf("seed %d it %d file %d: columnar flush wrote other bytes than the record flush", seed, it, i)
			}
		}
	}
}

// TestWriteRunChecksBatchTypes: a run holding a batch whose arrays do not
// have the schema's Arrow types is refused, not misread.
func TestWriteRunChecksBatchTypes(t *testing.T) {
	s := &types.Schema{ID: 1, Fields: []types.Field{{Name: "id", Type: types.TBigInt, NotNull: true}, {Name: "v", Type: types.TString}}, PrimaryKeys: []string{"id"}}
	other := &types.Schema{ID: 1, Fields: []types.Field{{Name: "id", Type: types.TBigInt, NotNull: true}, {Name: "v", Type: types.TInt}}, PrimaryKeys: []string{"id"}}
	as, err := types.ArrowSchema(other, false)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := types.BuildRecord(nil, as, []types.Row{{int64(1), int32(2)}})
	if err != nil {
		t.Fatal(err)
	}
	b := NewWriteBuffer()
	key, _ := types.EncodeRowKey(nil, types.Row{int64(1)}, []int{0})
	b.AddBatch(BatchRows{Cols: rec.Columns(), Rows: []int32{0}, Keys: [][]byte{key}, Seqs: []int64{0}, Kinds: []types.RowKind{types.Insert}}, 1)
	run := b.FlushRun(columnarLastWins{})
	defer run.Release()
	if _, err := WriteRun(run, s, WriterOptions{}); !errors.Is(err, types.ErrInvalid) || !strings.Contains(err.Error(), `"v"`) {
		t.Fatalf("got %v, want ErrInvalid naming column v", err)
	}
}

// TestKeyPrefixOrder: where the 16-byte prefixes of two keys differ, they
// order the keys as bytes.Compare does (the flush's sort relies on it),
// for keys of 0..20 bytes over a small alphabet (shared prefixes, zero
// bytes against padding).
func TestKeyPrefixOrder(t *testing.T) {
	seed := testSeed(t)
	rng := rand.New(rand.NewPCG(seed, 12))
	key := func() []byte {
		k := make([]byte, rng.IntN(21))
		for i := range k {
			k[i] = []byte{0, 1, 255}[rng.IntN(3)]
		}
		return k
	}
	for range 200_000 {
		a, b := key(), key()
		pa, pb := keyPrefix(a), keyPrefix(b)
		want := bytes.Compare(a, b)
		got := 0
		switch {
		case pa[0] != pb[0]:
			got = cmpU64(pa[0], pb[0])
		case pa[1] != pb[1]:
			got = cmpU64(pa[1], pb[1])
		default:
			continue
		}
		if got != want {
			t.Fatalf("seed %d: keys %x and %x: prefixes compare %d, keys %d", seed, a, b, got, want)
		}
	}
}

func cmpU64(a, b uint64) int {
	if a < b {
		return -1
	}
	return 1
}

// TestWriteRunBatchChecksRowByRow: a change batch holding a row that
// cannot be written (a DECIMAL beyond 64 bits, a NULL key column) fails a
// flush only when that row is one of the flush's rows: a bucket flushing
// the batch's other rows writes them, with their values.
func TestWriteRunBatchChecksRowByRow(t *testing.T) {
	s := &types.Schema{ID: 1, Fields: []types.Field{
		{ID: 0, Name: "id", Type: types.TBigInt, NotNull: true},
		{ID: 1, Name: "d", Type: types.TDecimal(12, 2)},
		{ID: 2, Name: "n", Type: types.TBigInt},
	}, PrimaryKeys: []string{"id"}, HighestFieldID: 2}
	as, err := types.ArrowSchema(s, false)
	if err != nil {
		t.Fatal(err)
	}
	mem := memory.NewGoAllocator()
	ids := array.NewInt64Builder(mem)
	ids.AppendValues([]int64{1, 2, 3, 0}, []bool{true, true, true, false})
	decs := array.NewDecimal128Builder(mem, as.Field(1).Type.(*arrow.Decimal128Type))
	decs.AppendValues([]decimal128.Num{decimal128.FromI64(-5), decimal128.New(1, 0), decimal128.FromI64(7), decimal128.FromI64(8)}, nil)
	ns := array.NewInt64Builder(mem)
	ns.AppendValues([]int64{10, 20, 30, 40}, []bool{true, false, true, true})
	cols := []arrow.Array{ids.NewArray(), decs.NewArray(), ns.NewArray()}
	defer func() {
		for _, a := range cols {
			a.Release()
		}
	}()
	flush := func(rows ...int32) ([]EncodedFile, error) {
		b := NewWriteBuffer()
		br := BatchRows{Cols: cols}
		for _, r := range rows {
			key, _ := types.EncodeRowKey(nil, types.Row{int64(r + 1)}, []int{0})
			br.Rows = append(br.Rows, r)
			br.Keys = append(br.Keys, key)
			br.Seqs = append(br.Seqs, int64(r))
			br.Kinds = append(br.Kinds, types.Insert)
		}
		b.AddBatch(br, 1)
		run := b.FlushRun(columnarLastWins{})
		defer run.Release()
		return WriteRun(run, s, WriterOptions{})
	}
	files, err := flush(0, 2)
	if err != nil {
		t.Fatalf("rows 0 and 2: %v", err)
	}
	got := readAll(t, files[0].Data, s, 0)
	want := []types.Row{{int64(1), types.Decimal(-5), int64(10)}, {int64(3), types.Decimal(7), int64(30)}}
	if len(got) != len(want) {
		t.Fatalf("read %d records, want %d", len(got), len(want))
	}
	for i := range want {
		for c := range want[i] {
			if !valueEqual(got[i].Row[c], want[i][c]) {
				t.Fatalf("record %d column %d: %v, want %v", i, c, got[i].Row[c], want[i][c])
			}
		}
	}
	if _, err := flush(0, 1); !errors.Is(err, types.ErrInvalid) || !strings.Contains(err.Error(), `"d"`) {
		t.Fatalf("row 1 (DECIMAL beyond 64 bits): got %v, want ErrInvalid naming column d", err)
	}
	if _, err := flush(2, 3); !errors.Is(err, types.ErrInvalid) || !strings.Contains(err.Error(), `"id"`) {
		t.Fatalf("row 3 (NULL key): got %v, want ErrInvalid naming column id", err)
	}
}
