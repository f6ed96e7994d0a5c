package lsm

import (
	"bytes"
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
	"github.com/siltdb/silt/internal/duckdbtest"
	"github.com/siltdb/silt/types"
)

// codecCases are the compressions the tests write: every codec, and zstd
// at each of the encoder's four levels.
var codecCases = []struct {
	c    Compression
	want format.CompressionCodec
}{
	{Compression{}, format.Zstd},
	{Compression{ZstdLevel: 1}, format.Zstd},
	{Compression{ZstdLevel: 7}, format.Zstd},
	{Compression{ZstdLevel: 19}, format.Zstd},
	{Compression{Codec: CodecSnappy}, format.Snappy},
	{Compression{Codec: CodecLZ4Raw}, format.Lz4Raw},
	{Compression{Codec: CodecUncompressed}, format.Uncompressed},
}

// TestCompressionRoundTrip: files of every codec read back to the records
// written through each read path (records, decoded batches, point
// lookups), and every column chunk declares the codec.
func TestCompressionRoundTrip(t *testing.T) {
	seed := testSeed(t)
	ctx := context.Background()
	s := allTypesSchema()
	for _, tc := range codecCases {
		t.Run(tc.c.String(), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 11))
			recs := randRecords(rng, s, 1200)
			files, err := WriteFiles(recs, s, WriterOptions{RowGroupRows: 300, PageBytes: 4 << 10, Compression: tc.c})
			if err != nil {
				t.Fatal(err)
			}
			if len(files) != 1 {
				t.Fatalf("%d files, want 1", len(files))
			}
			data := files[0].Data
			pf, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
			if err != nil {
				t.Fatal(err)
			}
			for _, rg := range pf.Metadata().RowGroups {
				for _, c := range rg.Columns {
					if c.MetaData.Codec != tc.want {
						t.Fatalf("seed %d: column %v: codec %v, want %v", seed, c.MetaData.PathInSchema, c.MetaData.Codec, tc.want)
					}
				}
			}
			got := readAll(t, data, s, 0)
			if len(got) != len(recs) {
				t.Fatalf("seed %d: read %d records, wrote %d", seed, len(got), len(recs))
			}
			for i := range recs {
				if !recordsEqual(got[i], recs[i]) {
					t.Fatalf("seed %d: record %d:\n got %s\nwant %s", seed, i, debugRecord(got[i]), debugRecord(recs[i]))
				}
			}
			fr, err := OpenFile(ctx, bytes.NewReader(data), int64(len(data)), s, 0)
			if err != nil {
				t.Fatal(err)
			}
			at := 0
			for g := range fr.NumRowGroups() {
				b, err := fr.DecodeBatch(ctx, g, ReadOptions{})
				if err != nil {
					t.Fatalf("seed %d: row group %d: %v", seed, g, err)
				}
				for r := range b.Len() {
					if rec := Box(b.Record(r)); !recordsEqual(rec, recs[at]) {
						t.Fatalf("seed %d: batch record %d:\n got %s\nwant %s", seed, at, debugRecord(rec), debugRecord(recs[at]))
					}
					at++
				}
			}
			if at != len(recs) {
				t.Fatalf("seed %d: batches held %d records, wrote %d", seed, at, len(recs))
			}
			for range 20 {
				want := recs[rng.IntN(len(recs))]
				found, err := fr.LookupKeys(ctx, [][]byte{want.Key})
				if err != nil {
					t.Fatalf("seed %d: lookup: %v", seed, err)
				}
				ok := false
				for _, r := range found {
					ok = ok || recordsEqual(Box(r), want)
				}
				if !ok {
					t.Fatalf("seed %d: lookup of %x did not find %s", seed, want.Key, debugRecord(want))
				}
			}
		})
	}
}

// TestCompressionDuckDB: DuckDB reads a file of every codec silt writes,
// sees the codec, and reads the same values from each as from the ZSTD
// file (whose values other DuckDB tests check against silt's).
func TestCompressionDuckDB(t *testing.T) {
	db := duckdbtest.Open(t)
	seed := testSeed(t)
	rng := rand.New(rand.NewPCG(seed, 12))
	s := allTypesSchema()
	recs := randRecords(rng, s, 800)
	for i := range recs { // DuckDB rejects the extreme dates and timestamps
		row := recs[i].Row
		if d, ok := row[9].(types.Date); ok && (d < -1e6 || d > 1e6) {
			row[9] = types.Date(d % 1e6)
		}
		if ts, ok := row[10].(types.Timestamp); ok && (ts < -1<<60 || ts > 1<<60) {
			row[10] = types.Timestamp(ts % (1 << 60))
		}
	}
	dir := t.TempDir()
	var queries []string
	for i, tc := range codecCases {
		files, err := WriteFiles(recs, s, WriterOptions{RowGroupRows: 200, PageBytes: 4 << 10, Compression: tc.c})
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, "f"+string(rune('a'+i))+".parquet")
		if err := os.WriteFile(path, files[0].Data, 0o644); err != nil {
			t.Fatal(err)
		}
		queries = append(queries,
			"SELECT DISTINCT compression FROM parquet_metadata('"+path+"')",
			"SELECT hex(_key), _seq, _kind, region, id, flag, i32, f32, f64, price, note, hex(blob), day::VARCHAR, epoch_us(\"at\"), qty FROM read_parquet('"+path+"') ORDER BY _key, _seq")
	}
	res := db.Run(t, nil, queries)
	for _, r := range res {
		if r.Err != "" {
			t.Fatalf("DuckDB: %s", r.Err)
		}
	}
	ref := res[1].Rows
	if len(ref) != len(recs) {
		t.Fatalf("DuckDB read %d rows of the ZSTD file, silt wrote %d", len(ref), len(recs))
	}
	for i, tc := range codecCases {
		codecs := res[2*i].Rows
		if len(codecs) != 1 || codecs[0][0] == nil || !strings.EqualFold(*codecs[0][0], tc.want.String()) {
			t.Fatalf("%s: DuckDB sees compression %v, want %s", tc.c, deref2(codecs), tc.want)
		}
		rows := res[2*i+1].Rows
		if len(rows) != len(ref) {
			t.Fatalf("%s: DuckDB read %d rows, want %d", tc.c, len(rows), len(ref))
		}
		for r := range rows {
			if a, b := strings.Join(deref(rows[r]), "|"), strings.Join(deref(ref[r]), "|"); a != b {
				t.Fatalf("seed %d: %s row %d: DuckDB read\n%s\nfrom the ZSTD file\n%s", seed, tc.c, r, a, b)
			}
		}
	}
}

func deref2(rows [][]*string) [][]string {
	out := make([][]string, len(rows))
	for i, r := range rows {
		out[i] = deref(r)
	}
	return out
}

// FuzzDecompress feeds arbitrary page bodies, declared sizes and codecs to
// the page checks' decompressor: it never panics and returns exactly the
// declared size or an error; a body one of silt's codecs compressed
// decompresses to the page.
func FuzzDecompress(f *testing.F) {
	for i, tc := range codecCases {
		page := bytes.Repeat([]byte("silt page body "), i+1)
		body, err := tc.c.pageCodec().Encode(nil, page)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(page, body, int64(len(page)), uint8(i), false)
		f.Add(page, body, int64(len(page)), uint8(i), true)
	}
	f.Fuzz(func(t *testing.T, page, body []byte, size int64, pick uint8, encode bool) {
		tc := codecCases[int(pick)%len(codecCases)]
		if encode {
			var err error
			if body, err = tc.c.pageCodec().Encode(nil, page); err != nil {
				t.Fatal(err)
			}
			size = int64(len(page))
		}
		size = min(max(size, 0), 1<<20)
		for _, scratch := range []*pageScratch{nil, {}} {
			out, err := decompress(body, size, tc.want, scratch)
			if err != nil {
				if encode {
					t.Fatalf("%s: compressed page does not decompress: %v", tc.c, err)
				}
				continue
			}
			if int64(len(out)) != size {
				t.Fatalf("%s: %d bytes for a declared %d", tc.c, len(out), size)
			}
			if encode && !bytes.Equal(out, page) {
				t.Fatalf("%s: decompresses to other bytes", tc.c)
			}
		}
	})
}

// TestCodecsDecodeIntoDst: every codec decodes a page into the buffer it
// is given when the page fits, as parquet-go requires: it reads a page
// from its own buffer of the declared size whenever the output is not
// longer (its bloom filter of the _key column decodes the written pages).
// Random bytes compress poorly, the case that lost LZ4_RAW pages.
func TestCodecsDecodeIntoDst(t *testing.T) {
	seed := testSeed(t)
	rng := rand.New(rand.NewPCG(seed, 13))
	for _, tc := range codecCases {
		for _, n := range []int{1, 100, 4 << 10, 256 << 10} {
			page := make([]byte, n)
			for i := range page {
				page[i] = byte(rng.IntN(64))
			}
			body, err := tc.c.pageCodec().Encode(nil, page)
			if err != nil {
				t.Fatal(err)
			}
			dst := make([]byte, n)
			out, err := tc.c.pageCodec().Decode(dst, body)
			if err != nil || !bytes.Equal(out, page) {
				t.Fatalf("seed %d: %s: %d-byte page does not decode: %v", seed, tc.c, n, err)
			}
			if &out[0] != &dst[0] {
				t.Fatalf("seed %d: %s: %d-byte page decoded into a new buffer, not the one given", seed, tc.c, n)
			}
		}
	}
}

// TestCompressionRandomKeys writes files of random keys with every codec:
// their _key pages (DELTA_BYTE_ARRAY) compress poorly, and the bloom
// filter decodes them back while the file is written.
func TestCompressionRandomKeys(t *testing.T) {
	seed := testSeed(t)
	s := benchSchema()
	for _, tc := range codecCases {
		rng := rand.New(rand.NewPCG(seed, 14))
		ids := map[int64]bool{}
		for len(ids) < 5000 {
			ids[rng.Int64N(250_000)] = true
		}
		recs := make([]Record, 0, len(ids))
		for id := range ids {
			row := types.Row{id, "customer", types.Decimal(rng.Int64N(1e9)), int32(rng.IntN(1000)), rng.Float64(), types.Timestamp(1.7e15 + rng.Int64N(1e12))}
			key, err := types.EncodeRowKey(nil, row, []int{0})
			if err != nil {
				t.Fatal(err)
			}
			recs = append(recs, Record{Key: key, Seq: rng.Int64N(1 << 20), Row: row, Merged: true})
		}
		slices.SortFunc(recs, func(a, b Record) int { return bytes.Compare(a.Key, b.Key) })
		files, err := WriteFiles(recs, s, WriterOptions{Compression: tc.c})
		if err != nil {
			t.Fatalf("seed %d: %s: %v", seed, tc.c, err)
		}
		if got := readAll(t, files[0].Data, s, 0); len(got) != len(recs) {
			t.Fatalf("seed %d: %s: read %d records, wrote %d", seed, tc.c, len(got), len(recs))
		}
	}
}
