package lsm

import (
	"bytes"
	"context"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/siltdb/silt/types"
)

func longValueSchema() *types.Schema {
	return &types.Schema{
		ID: 3,
		Fields: []types.Field{
			{ID: 0, Name: "id", Type: types.TString, NotNull: true},
			{ID: 1, Name: "s", Type: types.TString},
			{ID: 2, Name: "b", Type: types.TBytes},
		},
		PrimaryKeys:    []string{"id"},
		HighestFieldID: 2,
	}
}

func longValueRecord(t testing.TB, s *types.Schema, id string, str string, b []byte, seq int64) Record {
	t.Helper()
	row := types.Row{id, nil, nil}
	if str != "" {
		row[1] = str
	}
	if b != nil {
		row[2] = b
	}
	key, err := types.EncodeRowKey(nil, row, s.KeyIndexes())
	if err != nil {
		t.Fatal(err)
	}
	return Record{Key: key, Seq: seq, Kind: types.Insert, Row: row, Merged: true}
}

// TestLongValueFileSize writes one 10 MB value (incompressible bytes and
// a string): the file must not hold the value more than about once, as it
// did when statistics and page headers carried it whole four more times.
func TestLongValueFileSize(t *testing.T) {
	rng := rand.New(rand.NewPCG(testSeed(t), 1))
	s := longValueSchema()
	const n = 10 << 20
	blob := make([]byte, n)
	for i := range blob {
		blob[i] = byte(rng.Uint32())
	}
	for _, c := range []struct {
		name string
		rec  Record
	}{
		{"bytes", longValueRecord(t, s, "k", "", blob, 1)},
		{"string", longValueRecord(t, s, "k", string(blob), nil, 1)},
	} {
		files, err := WriteFiles([]Record{c.rec}, s, WriterOptions{})
		if err != nil {
			t.Fatal(err)
		}
		size := len(files[0].Data)
		t.Logf("%s: a %d-byte value makes a %d-byte file", c.name, n, size)
		if size > 2*n+1<<20 {
			t.Errorf("%s: a %d-byte value makes a %d-byte file", c.name, n, size)
		}
		got := readAll(t, files[0].Data, s, 0)
		if len(got) != 1 || !recordsEqual(got[0], c.rec) {
			t.Fatalf("%s: read back %d records", c.name, len(got))
		}
	}
}

// randLongString is a string built to stress truncation: long shared
// prefixes, runs of 0xFF and multi-byte runes near the cut.
func randLongString(rng *rand.Rand) string {
	var sb strings.Builder
	for sb.Len() < rng.IntN(200) {
		switch rng.IntN(5) {
		case 0:
			sb.WriteString(strings.Repeat("\xff", rng.IntN(80)))
		case 1:
			sb.WriteString(strings.Repeat("a", rng.IntN(70)))
		case 2:
			sb.WriteString("é€😀")
		case 3:
			sb.WriteByte(byte(rng.IntN(256)))
		default:
			sb.WriteString("prefix-shared-by-many-values-0123456789")
		}
	}
	return sb.String()
}

// TestTruncatedStatsStillBound writes random long strings over many row
// groups and checks that every row group's min/max statistics still bound
// all its values (so pruning by them never skips a match), are at most
// statsTruncateBytes long, and that the _key statistics stay exact.
func TestTruncatedStatsStillBound(t *testing.T) {
	rng := rand.New(rand.NewPCG(testSeed(t), 2))
	s := longValueSchema()
	var recs []Record
	for i := range 400 {
		id := randLongString(rng)
		recs = append(recs, longValueRecord(t, s, id, randLongString(rng), []byte(randLongString(rng)), int64(i)))
	}
	slices.SortFunc(recs, func(a, b Record) int { return compareRecords(&a, &b) })
	recs = slices.CompactFunc(recs, func(a, b Record) bool { return bytes.Equal(a.Key, b.Key) })
	files, err := WriteFiles(recs, s, WriterOptions{RowGroupRows: 1 + rng.IntN(40)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, file := range files {
		fr, err := OpenFile(ctx, bytes.NewReader(file.Data), int64(len(file.Data)), s, 0)
		if err != nil {
			t.Fatal(err)
		}
		md := fr.file.Metadata()
		for g := range md.RowGroups {
			var rows []Record
			for r, err := range fr.GroupRecords(ctx, g) {
				if err != nil {
					t.Fatal(err)
				}
				rows = append(rows, r)
			}
			st := md.RowGroups[g].Columns[0].MetaData.Statistics
			if !bytes.Equal(st.MinValue, rows[0].Key) || !bytes.Equal(st.MaxValue, rows[len(rows)-1].Key) {
				t.Fatalf("row group %d: _key statistics are not the exact key range", g)
			}
			for c := range s.Fields {
				st := md.RowGroups[g].Columns[numHidden+c].MetaData.Statistics
				if st.MinValue == nil && st.MaxValue == nil {
					continue // no statistics: nothing is pruned
				}
				if len(st.MinValue) > statsTruncateBytes || len(st.MaxValue) > statsTruncateBytes {
					t.Fatalf("row group %d column %d: statistics of %d and %d bytes", g, c, len(st.MinValue), len(st.MaxValue))
				}
				for _, r := range rows {
					var v []byte
					switch x := r.Row[c].(type) {
					case nil:
						continue
					case string:
						v = []byte(x)
					case []byte:
						v = x
					}
					if bytes.Compare(v, st.MinValue) < 0 || bytes.Compare(v, st.MaxValue) > 0 {
						t.Fatalf("row group %d column %d: value %q outside the statistics [%q, %q]", g, c, v, st.MinValue, st.MaxValue)
					}
				}
			}
		}
	}
	// The truncations themselves, on values built to hit every edge.
	for range 2000 {
		v := []byte(randLongString(rng))
		n := 1 + rng.IntN(70)
		if lo := truncateMin(v, n); len(lo) > n || bytes.Compare(lo, v) > 0 {
			t.Fatalf("truncateMin(%q, %d) = %q", v, n, lo)
		}
		hi, ok := truncateMax(v, n)
		if !ok {
			if !bytes.Equal(v[:n], bytes.Repeat([]byte{0xff}, n)) {
				t.Fatalf("truncateMax(%q, %d) gave up", v, n)
			}
			continue
		}
		if len(hi) > n || bytes.Compare(hi, v) < 0 {
			t.Fatalf("truncateMax(%q, %d) = %q", v, n, hi)
		}
	}
}

// TestFooterRewrittenInPlace: rewriting a file's footer (truncated
// statistics, the column paths a reused writer loses) replaces the footer
// in the buffer the file was written to when it has room, instead of
// copying the whole file, and the file reads as written.
func TestFooterRewrittenInPlace(t *testing.T) {
	s := longValueSchema()
	long := strings.Repeat("x", 500)
	recs := []Record{longValueRecord(t, s, "a", long, nil, 1), longValueRecord(t, s, "b", long+"y", nil, 2)}
	optional := []bool{false, true, true}
	ps, err := parquetSchema(s, optional)
	if err != nil {
		t.Fatal(err)
	}
	opts := WriterOptions{}
	opts.EnsureDefaults()
	fw := &fileWriter{schema: s, ps: ps, optional: optional, opts: opts}
	// raw writes recs up to the footer, as finish does before rewriting it.
	raw := func() []byte {
		fw.start()
		for i := range recs {
			if err := fw.add(&recs[i]); err != nil {
				t.Fatal(err)
			}
		}
		if err := fw.flushRowGroup(); err != nil {
			t.Fatal(err)
		}
		fw.w.SetKeyValueMetadata(metaFormatVersion, strconv.Itoa(FormatVersion))
		fw.w.SetKeyValueMetadata(metaSchemaID, strconv.FormatInt(s.ID, 10))
		fw.w.SetKeyValueMetadata(metaFieldIDs, formatFieldIDs(s))
		fw.w.SetKeyValueMetadata(checksumKey, checksumPlaceholder(fw.rowGroups))
		if err := fw.w.Close(); err != nil {
			t.Fatal(err)
		}
		data := fw.buf.Bytes()
		buf := make([]byte, len(data), len(data)+4096) // room after the file
		copy(buf, data)
		return buf
	}
	for i, paths := range [][][]string{nil, ps.Columns()} { // the second file's writer is reused
		buf := raw()
		out, err := truncateFooterStats(buf, paths)
		if err != nil {
			t.Fatal(err)
		}
		if len(out) == len(buf) {
			t.Fatalf("file %d: the footer was not rewritten", i)
		}
		if &out[0] != &buf[0] {
			t.Fatalf("file %d: the footer was rewritten into a copy of the file", i)
		}
		if _, err := sealFile(out, fw.rowGroups); err != nil {
			t.Fatal(err)
		}
		got := readAll(t, out, s, 0)
		if len(got) != len(recs) || !recordsEqual(got[0], recs[0]) || !recordsEqual(got[1], recs[1]) {
			t.Fatalf("file %d: read %d records, wrote %d", i, len(got), len(recs))
		}
	}
}
