package lsm

import (
	"bytes"
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
	"github.com/siltdb/silt/types"
)

// temporalSchema has TIME, TIMESTAMP_LTZ and UUID key columns and
// nullable columns of TIME, TIMESTAMP_LTZ, UUID and TIMESTAMP.
func temporalSchema() *types.Schema {
	return &types.Schema{
		ID: 3,
		Fields: []types.Field{
			{ID: 0, Name: "ku", Type: types.TUUID, NotNull: true},
			{ID: 1, Name: "kt", Type: types.TTime, NotNull: true},
			{ID: 2, Name: "kz", Type: types.TTimestampLTZ, NotNull: true},
			{ID: 3, Name: "t", Type: types.TTime},
			{ID: 4, Name: "z", Type: types.TTimestampLTZ},
			{ID: 5, Name: "u", Type: types.TUUID},
			{ID: 6, Name: "ts", Type: types.TTimestamp},
		},
		PrimaryKeys:    []string{"ku", "kt", "kz"},
		HighestFieldID: 6,
	}
}

// randTemporal returns a random value of a TIME, TIMESTAMP_LTZ, UUID or
// TIMESTAMP column, often an extreme one.
func randTemporal(rng *rand.Rand, t types.DataType) types.Value {
	pick := rng.IntN(6)
	switch t.Kind {
	case types.TimeKind:
		return []types.TimeOfDay{0, types.MicrosPerDay - 1, 12 * 3600e6, types.TimeOfDay(rng.Int64N(types.MicrosPerDay))}[pick%4]
	case types.TimestampLTZKind:
		return []types.TimestampLTZ{math.MinInt64, math.MaxInt64, 0, -1, types.TimestampLTZ(rng.Int64N(1<<52) - 1<<51)}[pick%5]
	case types.TimestampKind:
		return []types.Timestamp{math.MinInt64, math.MaxInt64, 0, types.Timestamp(rng.Int64N(1 << 52))}[pick%4]
	case types.UUIDKind:
		var u types.UUID
		switch pick % 3 {
		case 0:
		case 1:
			for i := range u {
				u[i] = 0xff
			}
		default:
			for i := range u {
				u[i] = byte(rng.IntN(3)) * 0x7f // zero bytes, 0x7f, 0xfe
			}
		}
		return u
	}
	panic("not a temporal type: " + t.String())
}

// randTemporalRows returns n random rows of temporalSchema (few distinct
// keys, so keys repeat) with their keys.
func randTemporalRows(rng *rand.Rand, s *types.Schema, n int) ([]types.Row, [][]byte) {
	keyIdx := s.KeyIndexes()
	rows := make([]types.Row, n)
	keys := make([][]byte, n)
	for i := range rows {
		row := make(types.Row, len(s.Fields))
		for c, f := range s.Fields {
			if f.NotNull || rng.IntN(4) > 0 {
				row[c] = randTemporal(rng, f.Type)
			}
		}
		key, err := types.EncodeRowKey(nil, row, keyIdx)
		if err != nil {
			panic(err)
		}
		rows[i], keys[i] = row, key
	}
	return rows, keys
}

// TestTemporalRoundTrip: TIME, TIMESTAMP_LTZ and UUID columns, keys among
// them, read back exactly through records and Arrow batches, from files
// written from records and from change batches (which give the same
// bytes).
func TestTemporalRoundTrip(t *testing.T) {
	seed := testSeed(t)
	s := temporalSchema()
	as, err := types.ArrowSchema(s, false)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for it := range 8 {
		rng := rand.New(rand.NewPCG(seed, uint64(it)))
		rows, keys := randTemporalRows(rng, s, 1+rng.IntN(600))
		var recs []Record
		col := NewWriteBuffer()
		rec, err := types.BuildRecord(nil, as, rows)
		if err != nil {
			t.Fatal(err)
		}
		br := BatchRows{Cols: rec.Columns()}
		for i, r := range rows {
			recs = append(recs, Record{Key: keys[i], Seq: int64(i), Kind: types.Insert, Row: r})
			br.Rows = append(br.Rows, int32(i))
			br.Keys = append(br.Keys, keys[i])
			br.Seqs = append(br.Seqs, int64(i))
			br.Kinds = append(br.Kinds, types.Insert)
		}
		col.AddBatch(br, 1)
		rec.Release()
		opts := WriterOptions{PageBytes: 1 + rng.IntN(4096), RowGroupRows: 1 + rng.IntN(300)}
		row := NewWriteBuffer()
		for _, r := range recs {
			row.Add(r)
		}
		merged := row.Flush(lastWins{})
		want, err := WriteFiles(merged, s, opts)
		if err != nil {
			t.Fatalf("seed %d it %d: %v", seed, it, err)
		}
		run := col.FlushRun(columnarLastWins{})
		got, err := WriteRun(run, s, opts)
		run.Release()
		if err != nil {
			t.Fatalf("seed %d it %d: %v", seed, it, err)
		}
		if len(got) != 1 || len(want) != 1 || !bytes.Equal(got[0].Data, want[0].Data) {
			t.Fatalf("seed %d it %d: the columnar flush wrote other bytes than the record flush", seed, it)
		}
		read := readAll(t, want[0].Data, s, 0)
		if len(read) != len(merged) {
			t.Fatalf("seed %d it %d: read %d records, wrote %d", seed, it, len(read), len(merged))
		}
		for i := range read {
			if !recordsEqual(read[i], merged[i]) {
				t.Fatalf("seed %d it %d record %d: read %s, wrote %s", seed, it, i, debugRecord(read[i]), debugRecord(merged[i]))
			}
		}
		fr, err := OpenFile(ctx, bytes.NewReader(want[0].Data), int64(len(want[0].Data)), s, 0)
		if err != nil {
			t.Fatal(err)
		}
		i := 0
		for g := range fr.NumRowGroups() {
			b, err := fr.DecodeBatch(ctx, g, ReadOptions{})
			if err != nil {
				t.Fatalf("seed %d it %d group %d: %v", seed, it, g, err)
			}
			for r := range b.Len() {
				for c := range s.Fields {
					if v := types.ValueAt(b.Column(c), r); !valueEqual(v, merged[i].Row[c]) {
						t.Fatalf("seed %d it %d row %d column %s: batch has %v (%T), wrote %v", seed, it, i, s.Fields[c].Name, v, v, merged[i].Row[c])
					}
				}
				i++
			}
		}
		if i != len(merged) {
			t.Fatalf("seed %d it %d: batches hold %d rows, wrote %d", seed, it, i, len(merged))
		}
	}
}

// TestTemporalParquetAnnotations: the file's columns carry the logical
// types outside readers need: TIMESTAMP not UTC-adjusted (a wall-clock
// time), TIMESTAMP_LTZ UTC-adjusted (an instant), TIME in microseconds,
// UUID as a 16-byte fixed-length array.
func TestTemporalParquetAnnotations(t *testing.T) {
	s := temporalSchema()
	rows, keys := randTemporalRows(rand.New(rand.NewPCG(1, 2)), s, 1)
	files, err := WriteFiles([]Record{{Key: keys[0], Kind: types.Insert, Row: rows[0], Merged: true}}, s, WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pf, err := parquet.OpenFile(bytes.NewReader(files[0].Data), int64(len(files[0].Data)))
	if err != nil {
		t.Fatal(err)
	}
	cols := pf.Root().Columns()[numHidden:]
	for i, want := range []string{"UUID", "TIME(false,MICROS)", "TIMESTAMP(true,MICROS)", "TIME(false,MICROS)", "TIMESTAMP(true,MICROS)", "UUID", "TIMESTAMP(false,MICROS)"} {
		lt := cols[i].Type().LogicalType()
		if lt == nil {
			t.Fatalf("column %s has no logical type", cols[i].Name())
		}
		got := logicalName(lt.Value)
		if got != want {
			t.Errorf("column %s: logical type %s, want %s", cols[i].Name(), got, want)
		}
	}
	if k := cols[0].Type(); k.Kind() != parquet.FixedLenByteArray || k.Length() != 16 {
		t.Errorf("UUID column stored as %s length %d", k.Kind(), k.Length())
	}
}

func logicalName(v format.LogicalTypeValue) string {
	unit := func(u format.TimeUnit) string {
		switch u.Value.(type) {
		case *format.MicroSeconds:
			return "MICROS"
		case *format.MilliSeconds:
			return "MILLIS"
		}
		return "NANOS"
	}
	switch x := v.(type) {
	case *format.UUIDType:
		return "UUID"
	case *format.TimeType:
		return "TIME(" + map[bool]string{true: "true", false: "false"}[x.IsAdjustedToUTC] + "," + unit(x.Unit) + ")"
	case *format.TimestampType:
		return "TIMESTAMP(" + map[bool]string{true: "true", false: "false"}[x.IsAdjustedToUTC] + "," + unit(x.Unit) + ")"
	}
	return "other"
}

// TestLegacyTimestampFile: a format version 1 file stores TIMESTAMP
// UTC-adjusted, as TIMESTAMP_LTZ is now; read as a TIMESTAMP field it
// still reads (as a key column too), and a TIMESTAMP_LTZ column is not
// readable as TIMESTAMP or the other way round.
func TestLegacyTimestampFile(t *testing.T) {
	ltz := &types.Schema{ID: 1, Fields: []types.Field{
		{ID: 0, Name: "at", Type: types.TTimestampLTZ, NotNull: true},
		{ID: 1, Name: "v", Type: types.TTimestampLTZ},
	}, PrimaryKeys: []string{"at"}, HighestFieldID: 1}
	vals := []int64{math.MinInt64, -1, 0, 1_700_000_000_123_456, math.MaxInt64}
	var recs []Record
	for _, v := range vals {
		row := types.Row{types.TimestampLTZ(v), types.TimestampLTZ(v / 2)}
		// The key of a format version 1 TIMESTAMP key column.
		key, err := types.EncodeRowKey(nil, types.Row{types.Timestamp(v)}, []int{0})
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, Record{Key: key, Kind: types.Insert, Row: row, Merged: true})
	}
	slices.SortFunc(recs, func(a, b Record) int { return bytes.Compare(a.Key, b.Key) })
	files, err := WriteFiles(recs, ltz, WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	legacy := &types.Schema{ID: 1, Fields: []types.Field{
		{ID: 0, Name: "at", Type: types.TTimestamp, NotNull: true},
		{ID: 1, Name: "v", Type: types.TTimestamp},
	}, PrimaryKeys: []string{"at"}, HighestFieldID: 1}
	got := readAll(t, files[0].Data, legacy, 0)
	for i, r := range got {
		at := int64(recs[i].Row[0].(types.TimestampLTZ))
		if r.Row[0] != types.Timestamp(at) || r.Row[1] != types.Timestamp(at/2) {
			t.Fatalf("row %d read as %v, want TIMESTAMP %d, %d", i, r.Row, at, at/2)
		}
	}
	// A TIMESTAMP column of a new file is not a TIMESTAMP_LTZ.
	plain := &types.Schema{ID: 1, Fields: []types.Field{{ID: 0, Name: "id", Type: types.TInt, NotNull: true}, {ID: 1, Name: "v", Type: types.TTimestamp}}, PrimaryKeys: []string{"id"}, HighestFieldID: 1}
	key, _ := types.EncodeRowKey(nil, types.Row{int32(1)}, []int{0})
	files, err = WriteFiles([]Record{{Key: key, Kind: types.Insert, Row: types.Row{int32(1), types.Timestamp(5)}, Merged: true}}, plain, WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	asLTZ := &types.Schema{ID: 1, Fields: []types.Field{plain.Fields[0], {ID: 1, Name: "v", Type: types.TTimestampLTZ}}, PrimaryKeys: []string{"id"}, HighestFieldID: 1}
	_, err = OpenFile(context.Background(), bytes.NewReader(files[0].Data), int64(len(files[0].Data)), asLTZ, 0)
	if !errors.Is(err, types.ErrInvalid) || !strings.Contains(err.Error(), "TIMESTAMP_LTZ") {
		t.Fatalf("TIMESTAMP read as TIMESTAMP_LTZ: got %v, want ErrInvalid", err)
	}
}

// TestTimeOutsideDayRefused: a TIME outside [0, 24h) is refused by the
// writer, from a record or a change batch.
func TestTimeOutsideDayRefused(t *testing.T) {
	s := &types.Schema{ID: 1, Fields: []types.Field{{ID: 0, Name: "id", Type: types.TInt, NotNull: true}, {ID: 1, Name: "t", Type: types.TTime}}, PrimaryKeys: []string{"id"}, HighestFieldID: 1}
	key, _ := types.EncodeRowKey(nil, types.Row{int32(1)}, []int{0})
	for _, bad := range []types.TimeOfDay{-1, types.MicrosPerDay} {
		_, err := WriteFiles([]Record{{Key: key, Kind: types.Insert, Row: types.Row{int32(1), bad}, Merged: true}}, s, WriterOptions{})
		if !errors.Is(err, types.ErrInvalid) {
			t.Fatalf("record TIME %d: got %v, want ErrInvalid", bad, err)
		}
		as, _ := types.ArrowSchema(s, false)
		rec, err := types.BuildRecord(nil, as, []types.Row{{int32(1), bad}})
		if err != nil {
			t.Fatal(err)
		}
		b := NewWriteBuffer()
		b.AddBatch(BatchRows{Cols: rec.Columns(), Rows: []int32{0}, Keys: [][]byte{key}, Seqs: []int64{0}, Kinds: []types.RowKind{types.Insert}}, 1)
		run := b.FlushRun(columnarLastWins{})
		_, err = WriteRun(run, s, WriterOptions{})
		run.Release()
		rec.Release()
		if !errors.Is(err, types.ErrInvalid) || !strings.Contains(err.Error(), `"t"`) {
			t.Fatalf("batch TIME %d: got %v, want ErrInvalid naming column t", bad, err)
		}
	}
}

// FuzzDecodeTemporal: a damaged file with TIME, TIMESTAMP_LTZ and UUID
// columns (the fixed-length byte array decoder) decodes to records and
// batches or fails with ErrCorruption, never a panic.
func FuzzDecodeTemporal(f *testing.F) {
	s := temporalSchema()
	rng := rand.New(rand.NewPCG(3, 4))
	rows, keys := randTemporalRows(rng, s, 50)
	wb := NewWriteBuffer()
	for i, r := range rows {
		wb.Add(Record{Key: keys[i], Seq: int64(i), Kind: types.Insert, Row: r})
	}
	files, err := WriteFiles(wb.Flush(lastWins{}), s, WriterOptions{RowGroupRows: 20, PageBytes: 256})
	if err != nil {
		f.Fatal(err)
	}
	data := files[0].Data
	f.Add(data)
	f.Add(data[:len(data)/2])
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > maxFuzzInput {
			return
		}
		ctx := context.Background()
		fr, err := OpenFile(ctx, bytes.NewReader(b), int64(len(b)), s, 0)
		if err == nil {
			for i := range fr.NumRowGroups() {
				if _, err = fr.DecodeBatch(ctx, i, ReadOptions{}); err != nil {
					break
				}
			}
		}
		if err == nil {
			for _, err = range fr.All(ctx) {
				if err != nil {
					break
				}
			}
		}
		if err != nil && !errors.Is(err, types.ErrCorruption) {
			t.Fatalf("error without ErrCorruption: %v", err)
		}
	})
}
