package table

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"

	"github.com/siltdb/silt/internal/testkit"
	"github.com/siltdb/silt/types"
)

// readPositionDeletes reads a position delete file back with parquet-go,
// checking the schema Iceberg requires: two required columns, file_path
// (string) with field id 2147483546 and pos (int64) with field id
// 2147483545, in that order, and the footer's Iceberg schema.
func readPositionDeletes(t testing.TB, data []byte) []PositionDelete {
	t.Helper()
	f, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("open position delete file: %v", err)
	}
	els := f.Metadata().Schema
	if len(els) != 3 {
		t.Fatalf("schema has %d elements, want the root and two columns", len(els))
	}
	for i, want := range []struct {
		name string
		id   int32
		typ  format.Type
		str  bool
	}{{"file_path", IcebergFieldIDDeleteFilePath, format.ByteArray, true}, {"pos", IcebergFieldIDDeletePos, format.Int64, false}} {
		e := els[i+1]
		if e.Name != want.name || e.FieldID != want.id || e.Type.V != want.typ {
			t.Fatalf("column %d is %q (field id %d, type %v), want %q (field id %d, type %v)", i, e.Name, e.FieldID, e.Type.V, want.name, want.id, want.typ)
		}
		if !e.RepetitionType.Valid || e.RepetitionType.V != format.Required {
			t.Fatalf("column %q is not required", e.Name)
		}
		_, isStr := e.LogicalType.Value.(*format.StringType)
		if isStr != want.str {
			t.Fatalf("column %q: string logical type %v, want %v", e.Name, isStr, want.str)
		}
	}
	if v, ok := f.Lookup("iceberg.schema"); !ok || v != icebergDeleteSchemaJSON {
		t.Fatalf("footer iceberg.schema = %q, %v", v, ok)
	}
	type row struct {
		FilePath string `parquet:"file_path"`
		Pos      int64  `parquet:"pos"`
	}
	rows, err := parquet.Read[row](bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("read position delete file: %v", err)
	}
	out := make([]PositionDelete, len(rows))
	for i, r := range rows {
		out[i] = PositionDelete{r.FilePath, r.Pos}
	}
	return out
}

// wantPositionDeletes is deletes sorted by (file_path, pos), duplicates
// removed.
func wantPositionDeletes(deletes []PositionDelete) []PositionDelete {
	want := slices.Clone(deletes)
	slices.SortFunc(want, comparePositionDeletes)
	return slices.Compact(want)
}

func TestWritePositionDeletesRoundTrip(t *testing.T) {
	seed := testkit.Seed(t)
	rng := rand.New(rand.NewPCG(seed, 1))
	for _, n := range []int{0, 1, 7, positionDeleteBatch, positionDeleteBatch*2 + 3, 20000} {
		paths := []string{"s3://bucket/wh/db.db/t/data/bucket-0/data-b.parquet", "s3://bucket/wh/db.db/t/data/bucket-0/data-a.parquet", "file:///tmp/x y/é.parquet"}
		deletes := make([]PositionDelete, n)
		for i := range deletes {
			deletes[i] = PositionDelete{paths[rng.IntN(len(paths))], rng.Int64N(int64(n) + 1)}
		}
		orig := slices.Clone(deletes)
		var buf bytes.Buffer
		rows, err := WritePositionDeletes(&buf, deletes)
		if err != nil {
			t.Fatalf("%d deletes: %v", n, err)
		}
		if !slices.Equal(deletes, orig) {
			t.Fatalf("%d deletes: the caller's slice was modified", n)
		}
		want := wantPositionDeletes(deletes)
		got := readPositionDeletes(t, buf.Bytes())
		if rows != int64(len(want)) || !slices.Equal(got, want) {
			t.Fatalf("%d deletes: wrote %d rows, read back %d (%v...), want %d", n, rows, len(got), got[:min(5, len(got))], len(want))
		}
	}
}

func TestWritePositionDeletesInvalid(t *testing.T) {
	for _, d := range []PositionDelete{{"", 1}, {"s3://b/f.parquet", -1}} {
		var buf bytes.Buffer
		_, err := WritePositionDeletes(&buf, []PositionDelete{{"s3://b/a.parquet", 0}, d})
		if !errors.Is(err, types.ErrInvalid) || buf.Len() != 0 {
			t.Fatalf("%v: err %v, %d bytes written; want ErrInvalid and nothing written", d, err, buf.Len())
		}
	}
}

func TestPositionDeletesFromHidden(t *testing.T) {
	hidden := map[string][]int64{"data/b.parquet": {0, 5}, "data/a.parquet": {3}}
	got := PositionDeletes(hidden, func(p string) string { return "s3://bkt/t/" + p })
	want := []PositionDelete{{"s3://bkt/t/data/a.parquet", 3}, {"s3://bkt/t/data/b.parquet", 0}, {"s3://bkt/t/data/b.parquet", 5}}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

// FuzzWritePositionDeletes writes deletes decoded from the input (a path
// index byte and a varint position each) and reads the file back.
func FuzzWritePositionDeletes(f *testing.F) {
	f.Add([]byte{0, 1, 1, 2, 0, 0})
	f.Add([]byte{2, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x7f, 1, 3})
	f.Fuzz(func(t *testing.T, data []byte) {
		paths := []string{"s3://b/a.parquet", "s3://b/b.parquet", "\x00", "s3://b/ü/ä.parquet"}
		var deletes []PositionDelete
		for len(data) > 1 && len(deletes) < 10000 {
			p := paths[int(data[0])%len(paths)]
			pos, n := binary.Uvarint(data[1:])
			if n <= 0 {
				break
			}
			data = data[1+n:]
			deletes = append(deletes, PositionDelete{p, int64(pos)})
		}
		var buf bytes.Buffer
		rows, err := WritePositionDeletes(&buf, deletes)
		for _, d := range deletes {
			if d.Pos < 0 {
				if !errors.Is(err, types.ErrInvalid) {
					t.Fatalf("negative position accepted: %v", err)
				}
				return
			}
		}
		if err != nil {
			t.Fatal(err)
		}
		want := wantPositionDeletes(deletes)
		if got := readPositionDeletes(t, buf.Bytes()); rows != int64(len(want)) || !slices.Equal(got, want) {
			t.Fatal(fmt.Sprintf("wrote %d rows, read %d, want %d", rows, len(got), len(want)))
		}
	})
}
