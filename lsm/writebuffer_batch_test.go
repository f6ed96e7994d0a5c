package lsm

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

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
