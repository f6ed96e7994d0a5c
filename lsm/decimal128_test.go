package lsm

import (
	"bytes"
	"context"
	"errors"
	"math/big"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/parquet-go/parquet-go"
	"github.com/siltdb/silt/internal/duckdbtest"
	"github.com/siltdb/silt/types"
)

// TestDecimalBytes: the FIXED_LEN_BYTE_ARRAY length of each precision is
// the smallest whose two's complement range holds 10^p - 1.
func TestDecimalBytes(t *testing.T) {
	for p := 1; p <= 38; p++ {
		maxv := new(big.Int).Sub(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(p)), nil), big.NewInt(1))
		want := 1
		for maxv.BitLen() > 8*want-1 {
			want++
		}
		if got := decimalBytes(p); got != want {
			t.Errorf("decimalBytes(%d) = %d, want %d", p, got, want)
		}
	}
}

// TestPutDecimal: every width round-trips the values it holds and refuses
// one past its range.
func TestPutDecimal(t *testing.T) {
	for w := 1; w <= 16; w++ {
		top := new(big.Int).Lsh(big.NewInt(1), uint(8*w-1)) // 2^(8w-1)
		for _, v := range []*big.Int{
			big.NewInt(0), big.NewInt(-1), big.NewInt(1),
			new(big.Int).Sub(top, big.NewInt(1)), new(big.Int).Neg(top),
		} {
			n, err := decimal128.FromString(v.String(), 38, 0)
			if err != nil && w < 16 {
				t.Fatal(err)
			}
			if w == 16 {
				continue // ±2^127 is not a valid decimal128 string; checked below
			}
			b := make([]byte, w)
			if !putDecimal(b, n) {
				t.Fatalf("width %d: %s refused", w, v)
			}
			if got := decimalOf(b); got != n {
				t.Fatalf("width %d: %s read back as %s", w, v, got.BigInt())
			}
		}
		if w < 16 {
			over, _ := decimal128.FromString(top.String(), 38, 0)
			if putDecimal(make([]byte, w), over) {
				t.Fatalf("width %d: 2^%d accepted", w, 8*w-1)
			}
			under, _ := decimal128.FromString(new(big.Int).Neg(new(big.Int).Add(top, big.NewInt(1))).String(), 38, 0)
			if putDecimal(make([]byte, w), under) {
				t.Fatalf("width %d: -2^%d-1 accepted", w, 8*w-1)
			}
		}
	}
	maxN := decimal128.MaxDecimal128
	b := make([]byte, 16)
	if !putDecimal(b, maxN) || decimalOf(b) != maxN || !putDecimal(b, maxN.Negate()) || decimalOf(b) != maxN.Negate() {
		t.Fatal("±(10^38-1) does not round-trip in 16 bytes")
	}
}

func dec128(t testing.TB, s string, typ types.DataType) types.Decimal128 {
	t.Helper()
	d, err := types.ParseDecimal128(s, typ)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// decimal128Schema has a 128-bit DECIMAL key and value columns of several
// precisions (9, 16 and 12 bytes stored).
func decimal128Schema() *types.Schema {
	return &types.Schema{
		Fields: []types.Field{
			{ID: 0, Name: "k", Type: types.TDecimal(38, 10), NotNull: true},
			{ID: 1, Name: "a", Type: types.TDecimal(19, 2)},
			{ID: 2, Name: "b", Type: types.TDecimal(38, 0), NotNull: true},
			{ID: 3, Name: "c", Type: types.TDecimal(28, 4)},
		},
		PrimaryKeys:    []string{"k"},
		HighestFieldID: 3,
	}
}

// randDecimal128 draws a value of type typ, often at the precision's edge.
func randDecimal128(rng *rand.Rand, typ types.DataType) types.Decimal128 {
	limit := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(typ.Precision)), nil)
	var v *big.Int
	switch rng.IntN(4) {
	case 0:
		v = new(big.Int).Sub(limit, big.NewInt(1+rng.Int64N(3)))
	case 1:
		v = big.NewInt(rng.Int64N(2000) - 1000)
	default:
		digits := make([]byte, 1+rng.IntN(typ.Precision))
		for i := range digits {
			digits[i] = byte('0' + rng.IntN(10))
		}
		v, _ = new(big.Int).SetString(string(digits), 10)
	}
	if rng.IntN(2) == 0 {
		v.Neg(v)
	}
	n, _ := decimal128.FromString(v.String(), 38, 0)
	return types.Decimal128(n)
}

func decimal128Records(t testing.TB, rng *rand.Rand, s *types.Schema, n int) []Record {
	t.Helper()
	seen := map[types.Decimal128]bool{}
	var recs []Record
	for len(recs) < n {
		row := make(types.Row, len(s.Fields))
		for c, f := range s.Fields {
			if !f.NotNull && rng.IntN(5) == 0 {
				continue
			}
			row[c] = randDecimal128(rng, f.Type)
		}
		if seen[row[0].(types.Decimal128)] {
			continue
		}
		seen[row[0].(types.Decimal128)] = true
		key, err := types.EncodeRowKey(nil, row, []int{0})
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, Record{Key: key, Kind: types.Insert, Row: row, Merged: true})
	}
	sortRecords(recs)
	for i := range recs {
		recs[i].Seq = int64(i + 1)
	}
	return recs
}

// TestDecimal128RoundTrip: DECIMAL columns of precision above 18 are
// stored as FIXED_LEN_BYTE_ARRAY of the minimum length and read back
// exactly through the record reader, the batch decoder and point
// lookups, written by the columnar and by the row encoder.
func TestDecimal128RoundTrip(t *testing.T) {
	seed := testSeed(t)
	rng := rand.New(rand.NewPCG(seed, 1))
	s := decimal128Schema()
	recs := decimal128Records(t, rng, s, 700)
	for _, rowPath := range []bool{false, true} {
		files, err := WriteFiles(recs, s, WriterOptions{RowGroupRows: 100, rowPath: rowPath})
		if err != nil {
			t.Fatal(err)
		}
		data := files[0].Data
		got := readAll(t, data, s, 0)
		if len(got) != len(recs) {
			t.Fatalf("%d records, want %d", len(got), len(recs))
		}
		for i := range got {
			if !recordsEqual(got[i], recs[i]) {
				t.Fatalf("rowPath=%v record %d = %s, want %s", rowPath, i, debugRecord(got[i]), debugRecord(recs[i]))
			}
		}
		fr, err := OpenFile(context.Background(), bytes.NewReader(data), int64(len(data)), s, 0)
		if err != nil {
			t.Fatal(err)
		}
		brecs, err := batchRecords(fr)
		if err != nil {
			t.Fatal(err)
		}
		for i := range brecs {
			if !recordsEqual(brecs[i], recs[i]) {
				t.Fatalf("batch record %d = %s, want %s", i, debugRecord(brecs[i]), debugRecord(recs[i]))
			}
		}
		for _, i := range []int{0, len(recs) / 2, len(recs) - 1} {
			hit, err := fr.Get(context.Background(), recs[i].Key)
			if err != nil || len(hit) != 1 || !recordsEqual(hit[0], recs[i]) {
				t.Fatalf("Get record %d: %v %v", i, hit, err)
			}
		}
		if !rowPath {
			pf, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
			if err != nil {
				t.Fatal(err)
			}
			for i, want := range []int{16, 9, 16, 12} {
				col := pf.Schema().Fields()[numHidden+i]
				if col.Type().Kind() != parquet.FixedLenByteArray || col.Type().Length() != want {
					t.Fatalf("column %s stored as %s, want FIXED_LEN_BYTE_ARRAY(%d)", col.Name(), col.Type(), want)
				}
			}
		}
	}
}

// TestDecimal128Refused: a Decimal128 outside its column's stored width
// and a 64-bit Decimal in a 128-bit column are refused, not truncated.
func TestDecimal128Refused(t *testing.T) {
	s := decimal128Schema()
	s.Fields[1].Type = types.TDecimal(20, 0) // 9 bytes: up to about 2.36e21
	big22 := dec128(t, "9999999999999999999999", types.TDecimal(22, 0))
	k := dec128(t, "1", s.Fields[0].Type)
	key, _ := types.EncodeKey(nil, k)
	for _, row := range []types.Row{
		{k, big22, dec128(t, "1", types.TDecimal(38, 0)), nil},
		{k, types.Decimal(5), dec128(t, "1", types.TDecimal(38, 0)), nil},
	} {
		for _, rowPath := range []bool{false, true} {
			_, err := WriteFiles([]Record{{Key: key, Seq: 1, Kind: types.Insert, Row: row, Merged: true}}, s, WriterOptions{rowPath: rowPath})
			if err == nil {
				t.Fatalf("rowPath=%v: %v written", rowPath, row[1])
			}
		}
	}
}

// TestDecimalWidenedTo128: a file written with DECIMAL(10,2) (INT64) and
// DECIMAL(5,2) (INT32) reads as DECIMAL(30,2) and DECIMAL(20,2): Decimal128
// values through records and batches.
func TestDecimalWidenedTo128(t *testing.T) {
	s := &types.Schema{
		Fields: []types.Field{
			{ID: 0, Name: "id", Type: types.TBigInt, NotNull: true},
			{ID: 1, Name: "d", Type: types.TDecimal(10, 2)},
			{ID: 2, Name: "e", Type: types.TDecimal(5, 2)},
		},
		PrimaryKeys:    []string{"id"},
		HighestFieldID: 2,
	}
	vals := []types.Row{
		{int64(0), types.Decimal(9999999999), types.Decimal(99999)},
		{int64(1), types.Decimal(-9999999999), types.Decimal(-99999)},
		{int64(2), nil, nil},
		{int64(3), types.Decimal(150), types.Decimal(1)},
	}
	var recs []Record
	for i, row := range vals {
		key, _ := types.EncodeKey(nil, row[0])
		recs = append(recs, Record{Key: key, Seq: int64(i + 1), Kind: types.Insert, Row: row, Merged: true})
	}
	files, err := WriteFiles(recs, s, WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wide := *s
	wide.Fields = []types.Field{s.Fields[0], {ID: 1, Name: "d", Type: types.TDecimal(30, 2)}, {ID: 2, Name: "e", Type: types.TDecimal(20, 2)}}
	want := func(v types.Value) types.Value {
		if v == nil {
			return nil
		}
		return types.Decimal128FromInt64(int64(v.(types.Decimal)))
	}
	got := readAll(t, files[0].Data, &wide, 0)
	data := files[0].Data
	fr, err := OpenFile(context.Background(), bytes.NewReader(data), int64(len(data)), &wide, 0)
	if err != nil {
		t.Fatal(err)
	}
	brecs, err := batchRecords(fr)
	if err != nil {
		t.Fatal(err)
	}
	for _, gs := range [][]Record{got, brecs} {
		for i, r := range gs {
			for c := 1; c <= 2; c++ {
				if w := want(vals[i][c]); !types.Equal(r.Row[c], w) {
					t.Fatalf("row %d column %d = %#v, want %#v", i, c, r.Row[c], w)
				}
			}
		}
	}
	// Point lookups go through the converter.
	hit, err := fr.Get(context.Background(), recs[1].Key)
	if err != nil || len(hit) != 1 || !types.Equal(hit[0].Row[1], want(vals[1][1])) {
		t.Fatalf("Get: %v %v", hit, err)
	}
}

// TestDecimal128DuckDB: DuckDB reads silt's 128-bit DECIMAL columns as
// DECIMAL(p,s) with the same values.
func TestDecimal128DuckDB(t *testing.T) {
	db := duckdbtest.Open(t)
	seed := testSeed(t)
	rng := rand.New(rand.NewPCG(seed, 2))
	s := decimal128Schema()
	recs := decimal128Records(t, rng, s, 200)
	files, err := WriteFiles(recs, s, WriterOptions{RowGroupRows: 50})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "d.parquet")
	if err := os.WriteFile(path, files[0].Data, 0o644); err != nil {
		t.Fatal(err)
	}
	res := db.Run(t, nil, []string{
		"SELECT typeof(k), typeof(a), typeof(b), typeof(c) FROM read_parquet('" + path + "') LIMIT 1",
		"SELECT k::VARCHAR, a::VARCHAR, b::VARCHAR, c::VARCHAR FROM read_parquet('" + path + "') ORDER BY _seq",
	})
	if res[0].Err != "" || res[1].Err != "" {
		t.Fatalf("DuckDB: %s %s", res[0].Err, res[1].Err)
	}
	var typesGot []string
	for _, v := range res[0].Rows[0] {
		typesGot = append(typesGot, *v)
	}
	if g := strings.Join(typesGot, ","); g != "DECIMAL(38,10),DECIMAL(19,2),DECIMAL(38,0),DECIMAL(28,4)" {
		t.Fatalf("DuckDB types %s", g)
	}
	if len(res[1].Rows) != len(recs) {
		t.Fatalf("DuckDB read %d rows, want %d", len(res[1].Rows), len(recs))
	}
	for i, row := range res[1].Rows {
		for c, v := range row {
			want := recs[i].Row[c]
			if (v == nil) != (want == nil) {
				t.Fatalf("row %d column %d: DuckDB %v, silt %v", i, c, v, want)
			}
			if v != nil && *v != types.FormatDecimal128(want.(types.Decimal128), s.Fields[c].Type.Scale) {
				t.Fatalf("row %d column %d: DuckDB %s, silt %s", i, c, *v, types.FormatDecimal128(want.(types.Decimal128), s.Fields[c].Type.Scale))
			}
		}
	}
}

// FuzzDecimal128Decode feeds the batch and record decoders mutated row
// groups of a file of 128-bit DECIMAL columns (FIXED_LEN_BYTE_ARRAY pages,
// optional and required): arrays and records or an error wrapping
// types.ErrCorruption, never a panic.
func FuzzDecimal128Decode(f *testing.F) {
	s := decimal128Schema()
	recs := decimal128Records(f, rand.New(rand.NewPCG(1, 2)), s, 60)
	files, err := WriteFiles(recs, s, WriterOptions{RowGroupRows: 20})
	if err != nil {
		f.Fatal(err)
	}
	data := files[0].Data
	fr, err := OpenFile(context.Background(), bytes.NewReader(data), int64(len(data)), s, 0)
	if err != nil {
		f.Fatal(err)
	}
	g := fr.groups[1]
	f.Add(data[g.start:g.end])
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > maxFuzzInput {
			return
		}
		buf := make([]byte, g.end-g.start)
		copy(buf, b)
		if err := decodeBatchBytes(fr, buf, 1, ReadOptions{}); err != nil && !errors.Is(err, types.ErrCorruption) {
			t.Fatalf("error without ErrCorruption: %v", err)
		}
		want, check, err := fr.projection(ReadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		gb, err := fr.decodeLoaded(context.Background(), sliceReaderAt{off: g.start, data: buf}, 1, want, check)
		if err != nil {
			if !errors.Is(err, types.ErrCorruption) {
				t.Fatalf("error without ErrCorruption: %v", err)
			}
			return
		}
		var scratch []byte
		for r := range gb.rows {
			if _, err := fr.record(gb, r, &scratch); err != nil && !errors.Is(err, types.ErrCorruption) {
				t.Fatalf("error without ErrCorruption: %v", err)
			}
		}
	})
}

// FuzzDecimalBytes: any 1..16 bytes read as a value that writes back to
// the same bytes at that width.
func FuzzDecimalBytes(f *testing.F) {
	f.Add([]byte{0x80})
	f.Add([]byte{0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF})
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) == 0 || len(b) > 16 {
			return
		}
		n := decimalOf(b)
		out := make([]byte, len(b))
		if !putDecimal(out, n) || !bytes.Equal(out, b) {
			t.Fatalf("%x read as %s wrote back as %x", b, n.BigInt(), out)
		}
	})
}
