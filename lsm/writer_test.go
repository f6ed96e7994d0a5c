package lsm

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
	"github.com/siltdb/silt/types"
)

// readAll opens data with schema s and returns every record.
func readAll(t testing.TB, data []byte, s *types.Schema, seqBase int64) []Record {
	t.Helper()
	ctx := context.Background()
	fr, err := OpenFile(ctx, bytes.NewReader(data), int64(len(data)), s, seqBase)
	if err != nil {
		t.Fatalf("OpenFile: %v", err)
	}
	var out []Record
	for r, err := range fr.All(ctx) {
		if err != nil {
			t.Fatalf("All: %v", err)
		}
		out = append(out, r)
	}
	if int64(len(out)) != fr.RowCount() {
		t.Fatalf("All yielded %d records, RowCount %d", len(out), fr.RowCount())
	}
	return out
}

func TestRoundTripAllTypes(t *testing.T) {
	seed := testSeed(t)
	for iter := 0; iter < 4; iter++ {
		rng := rand.New(rand.NewPCG(seed, uint64(iter)))
		s := allTypesSchema()
		recs := randRecords(rng, s, 1500)
		keyOnlyDeletes := iter%2 == 1
		if keyOnlyDeletes { // -D rows carrying only the key: NOT NULL qty becomes optional
			for i := range recs {
				if recs[i].Kind == types.Delete {
					for c := 2; c < len(recs[i].Row); c++ {
						recs[i].Row[c] = nil
					}
				}
			}
		}
		opts := WriterOptions{RowGroupRows: 20 + rng.IntN(100), TargetFileSize: int64(20<<10 + rng.IntN(30<<10))}
		files, err := WriteFiles(recs, s, opts)
		if err != nil {
			t.Fatal(err)
		}
		if len(files) < 2 {
			t.Fatalf("want several files, got %d", len(files))
		}
		var all []Record
		for fi, f := range files {
			got := readAll(t, f.Data, s, 0)
			if int64(len(got)) != f.RowCount || len(got) == 0 {
				t.Fatalf("file %d: %d records, RowCount %d", fi, len(got), f.RowCount)
			}
			var dels int64
			minSeq, maxSeq := got[0].Seq, got[0].Seq
			for _, r := range got {
				if !r.Kind.IsAdd() {
					dels++
				}
				minSeq, maxSeq = min(minSeq, r.Seq), max(maxSeq, r.Seq)
			}
			if dels != f.DeleteCount || minSeq != f.MinSeq || maxSeq != f.MaxSeq ||
				!bytes.Equal(got[0].Key, f.MinKey) || !bytes.Equal(got[len(got)-1].Key, f.MaxKey) {
				t.Fatalf("file %d: metadata %+v does not match its records", fi, f)
			}
			if fi > 0 && bytes.Equal(files[fi-1].MaxKey, f.MinKey) {
				t.Fatalf("key %x split across files %d and %d", f.MinKey, fi-1, fi)
			}
			all = append(all, got...)
		}
		if len(all) != len(recs) {
			t.Fatalf("read %d records, wrote %d", len(all), len(recs))
		}
		for i := range recs {
			if !recordsEqual(all[i], recs[i]) {
				t.Fatalf("record %d:\n got %s\nwant %s", i, debugRecord(all[i]), debugRecord(recs[i]))
			}
		}
		// Row groups: the first file must have several.
		fr, err := OpenFile(context.Background(), bytes.NewReader(files[0].Data), int64(len(files[0].Data)), s, 0)
		if err != nil {
			t.Fatal(err)
		}
		if fr.NumRowGroups() < 2 {
			t.Fatalf("want several row groups, got %d", fr.NumRowGroups())
		}
		pf, err := parquet.OpenFile(bytes.NewReader(files[0].Data), int64(len(files[0].Data)))
		if err != nil {
			t.Fatal(err)
		}
		qty := pf.Root().Column("qty")
		if qty.Optional() != keyOnlyDeletes {
			t.Fatalf("NOT NULL column qty optional=%t, want %t", qty.Optional(), keyOnlyDeletes)
		}
	}
}

// TestParquetLayout checks what other engines see: column order, field ids,
// logical types, repetition, compression, statistics, bloom filter and
// metadata.
func TestParquetLayout(t *testing.T) {
	s := allTypesSchema()
	rng := rand.New(rand.NewPCG(1, 2))
	recs := randRecords(rng, s, 500)
	files, err := WriteFiles(recs, s, WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	data := files[0].Data
	pf, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"required binary _key",
		"required int64 _seq",
		"required int32 _kind",
		"required binary region (STRING)",
		"required int64 id (INT(64,true)) = 1",
		"optional boolean flag = 2",
		"optional int32 i32 (INT(32,true)) = 3",
		"optional float f32 = 4",
		"optional double f64 = 5",
		"optional int64 price (DECIMAL(18,4)) = 6",
		"optional binary note (STRING) = 7",
		"optional binary blob = 8",
		"optional int32 day (DATE) = 9",
		"optional int64 at (TIMESTAMP(isAdjustedToUTC=false,unit=MICROS)) = 10",
		"required int32 qty (INT(32,true)) = 11",
	}
	text := pf.Schema().String()
	last := -1
	for _, w := range want {
		i := strings.Index(text, w)
		if i < 0 || i < last {
			t.Fatalf("schema lacks %q in order:\n%s", w, text)
		}
		last = i
	}
	md := pf.Metadata()
	for _, c := range md.RowGroups[0].Columns {
		if c.MetaData.Codec != format.Zstd {
			t.Fatalf("column %v: codec %v, want ZSTD", c.MetaData.PathInSchema, c.MetaData.Codec)
		}
	}
	st := md.RowGroups[0].Columns[0].MetaData.Statistics
	if !bytes.Equal(st.MinValue, files[0].MinKey) || !bytes.Equal(st.MaxValue, files[0].MaxKey) {
		t.Fatalf("_key statistics %x..%x, want %x..%x", st.MinValue, st.MaxValue, files[0].MinKey, files[0].MaxKey)
	}
	if md.RowGroups[0].Columns[0].MetaData.BloomFilterOffset <= 0 {
		t.Fatal("no bloom filter on _key")
	}
	for k, v := range map[string]string{metaFormatVersion: strconv.Itoa(FormatVersion), metaSchemaID: "7", metaFieldIDs: "0,1,2,3,4,5,6,7,8,9,10,11"} {
		if got, ok := pf.Lookup(k); !ok || got != v {
			t.Fatalf("metadata %s = %q, want %q", k, got, v)
		}
	}
	// parquet-go, as any reader, can use the bloom filter.
	bf := pf.RowGroups()[0].ColumnChunks()[0].BloomFilter()
	if ok, err := bf.Check(parquet.ByteArrayValue(recs[0].Key)); err != nil || !ok {
		t.Fatalf("bloom filter misses a present key: %v %v", ok, err)
	}
	// Page CRCs are written: parquet-go itself rejects a damaged page body.
	damaged := bytes.Clone(data)
	cc := md.RowGroups[0].Columns[numHidden+7].MetaData // note
	damaged[cc.DataPageOffset+cc.TotalCompressedSize-3] ^= 0x10
	pf2, err := parquet.OpenFile(bytes.NewReader(damaged), int64(len(damaged)))
	if err != nil {
		t.Fatal(err)
	}
	_, err = pf2.RowGroups()[0].Rows().ReadRows(make([]parquet.Row, 1000))
	if err == nil || !strings.Contains(err.Error(), "crc32 checksum mismatch") {
		t.Fatalf("parquet-go did not report a page CRC mismatch: %v", err)
	}
}

func TestSchemaEvolution(t *testing.T) {
	s := allTypesSchema()
	rng := rand.New(rand.NewPCG(testSeed(t), 3))
	recs := randRecords(rng, s, 800)
	files, err := WriteFiles(recs, s, WriterOptions{RowGroupRows: 128})
	if err != nil {
		t.Fatal(err)
	}
	data := files[0].Data
	// Reordered, renamed (same ids), a new field, a dropped field (note),
	// INT widened to BIGINT and FLOAT to DOUBLE.
	evolved := &types.Schema{
		ID: 8,
		Fields: []types.Field{
			{ID: 10, Name: "at_renamed", Type: types.TTimestamp},
			{ID: 1, Name: "id", Type: types.TBigInt, NotNull: true},
			{ID: 12, Name: "added", Type: types.TString},
			{ID: 0, Name: "region", Type: types.TString, NotNull: true},
			{ID: 3, Name: "i32", Type: types.TBigInt},
			{ID: 4, Name: "f32", Type: types.TDouble},
			{ID: 6, Name: "price", Type: types.TDecimal(18, 4)},
			{ID: 2, Name: "flag2", Type: types.TBoolean},
		},
		PrimaryKeys: []string{"region", "id"},
	}
	got := readAll(t, data, evolved, 1000)
	for i, r := range got {
		w := recs[i]
		want := types.Row{w.Row[10], w.Row[1], nil, w.Row[0], widenInt(w.Row[3]), widenFloat(w.Row[4]), w.Row[6], w.Row[2]}
		r2 := Record{Key: w.Key, Seq: w.Seq + 1000, Kind: w.Kind, Row: want, Merged: true, Reset: w.Reset}
		if !recordsEqual(r, r2) {
			t.Fatalf("record %d:\n got %s\nwant %s", i, debugRecord(r), debugRecord(r2))
		}
	}
	// Incompatible type: STRING read as BIGINT.
	bad := *evolved
	bad.Fields = append([]types.Field(nil), evolved.Fields...)
	bad.Fields[2] = types.Field{ID: 7, Name: "note", Type: types.TBigInt}
	_, err = OpenFile(context.Background(), bytes.NewReader(data), int64(len(data)), &bad, 0)
	if !errors.Is(err, types.ErrInvalid) || !strings.Contains(err.Error(), "note") {
		t.Fatalf("want ErrInvalid naming the column, got %v", err)
	}
	// A key column the file lacks.
	bad.Fields = append([]types.Field(nil), evolved.Fields...)
	bad.Fields[1].ID = 99
	_, err = OpenFile(context.Background(), bytes.NewReader(data), int64(len(data)), &bad, 0)
	if !errors.Is(err, types.ErrInvalid) {
		t.Fatalf("want ErrInvalid for a missing key column, got %v", err)
	}
}

func widenInt(v types.Value) types.Value {
	if x, ok := v.(int32); ok {
		return int64(x)
	}
	return v
}

func widenFloat(v types.Value) types.Value {
	if x, ok := v.(float32); ok {
		return float64(x)
	}
	return v
}

func TestWriteFilesRejects(t *testing.T) {
	s := allTypesSchema()
	rng := rand.New(rand.NewPCG(5, 6))
	good := randRecords(rng, s, 10)
	cases := map[string]func(r []Record){
		"unsorted":    func(r []Record) { r[0], r[5] = r[5], r[0] },
		"not merged":  func(r []Record) { r[3].Merged = false },
		"empty key":   func(r []Record) { r[0].Key = nil },
		"short row":   func(r []Record) { r[2].Row = r[2].Row[:3] },
		"wrong type":  func(r []Record) { r[4].Row[3] = int64(1) },
		"bad kind":    func(r []Record) { r[1].Kind = 9 },
		"reserved":    nil,
		"NULL in key": func(r []Record) { r[1].Row[1] = nil },
	}
	for name, mutate := range cases {
		recs := make([]Record, len(good))
		for i, r := range good {
			r.Row = append(types.Row(nil), r.Row...)
			recs[i] = r
		}
		sc := s
		if mutate == nil {
			c := *s
			c.Fields = append([]types.Field(nil), s.Fields...)
			c.Fields[5].Name = "_seq"
			sc = &c
		} else {
			mutate(recs)
		}
		if _, err := WriteFiles(recs, sc, WriterOptions{}); !errors.Is(err, types.ErrInvalid) {
			t.Errorf("%s: want ErrInvalid, got %v", name, err)
		}
	}
}

func TestGetAndMayContain(t *testing.T) {
	s := allTypesSchema()
	rng := rand.New(rand.NewPCG(testSeed(t), 4))
	recs := randRecords(rng, s, 2000)
	files, err := WriteFiles(recs, s, WriterOptions{RowGroupRows: 200})
	if err != nil {
		t.Fatal(err)
	}
	data := files[0].Data
	ctx := context.Background()
	fr, err := OpenFile(ctx, bytes.NewReader(data), int64(len(data)), s, 0)
	if err != nil {
		t.Fatal(err)
	}
	byKey := map[string][]Record{}
	for _, r := range recs {
		byKey[string(r.Key)] = append(byKey[string(r.Key)], r)
	}
	for k, want := range byKey {
		if !fr.MayContain([]byte(k)) {
			t.Fatalf("MayContain(%x) = false for a present key", k)
		}
		before := fr.Stats().RowGroupsRead
		got, err := fr.Get(ctx, []byte(k))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("Get(%x): %d records, want %d", k, len(got), len(want))
		}
		for i := range got {
			if !recordsEqual(got[i], want[i]) {
				t.Fatalf("Get(%x)[%d] = %s, want %s", k, i, debugRecord(got[i]), debugRecord(want[i]))
			}
		}
		if n := fr.Stats().RowGroupsRead - before; n > 2 {
			t.Fatalf("Get read %d row groups for one key", n)
		}
	}
	// Absent keys inside the key range: few pass the bloom filters.
	falsePos := 0
	const probes = 2000
	for i := 0; i < probes; i++ {
		k, _ := types.EncodeKey(nil, "eu", int64(1<<40+i))
		if fr.MayContain(k) {
			falsePos++
		}
		got, err := fr.Get(ctx, k)
		if err != nil || len(got) != 0 {
			t.Fatalf("Get(absent) = %v, %v", got, err)
		}
	}
	if falsePos > probes/20 {
		t.Fatalf("bloom filters admit %d of %d absent keys", falsePos, probes)
	}
	t.Logf("bloom false positives: %d/%d", falsePos, probes)
}
