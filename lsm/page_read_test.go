package lsm

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/siltdb/silt/types"
)

// countingReader counts the reads and bytes of a ReaderAt.
type countingReader struct {
	r            *bytes.Reader
	reads, bytes atomic.Int64
}

func (c *countingReader) ReadAt(p []byte, off int64) (int, error) {
	c.reads.Add(1)
	c.bytes.Add(int64(len(p)))
	return c.r.ReadAt(p, off)
}

// pagedFile writes random records (long keys sometimes, so the column
// index truncates the _key bounds; several records per key sometimes, so
// a key's records can span pages) into one file with small pages and row
// groups, and returns the file and the records by key.
func pagedFile(t testing.TB, rng *rand.Rand) ([]byte, *types.Schema, []Record, [][]byte) {
	t.Helper()
	s := allTypesSchema()
	recs := randRecords(rng, s, 50+rng.IntN(1500))
	if rng.IntN(3) == 0 { // keys longer than the 64-byte column index bounds
		long := strings.Repeat("r", 60+rng.IntN(20))
		for i := range recs {
			recs[i].Row[0] = long + recs[i].Row[0].(string)
			recs[i].Key, _ = types.EncodeRowKey(nil, recs[i].Row, s.KeyIndexes())
		}
		slices.SortFunc(recs, func(a, b Record) int { return compareRecords(&a, &b) })
	}
	opts := WriterOptions{RowGroupRows: 20 + rng.IntN(600), PageBytes: 64 + rng.IntN(4096)}
	if rng.IntN(4) == 0 {
		opts.PageBytes = 256 << 10 // one page per chunk
	}
	files, err := WriteFiles(recs, s, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 1 {
		t.Fatalf("%d files", len(files))
	}
	var keys [][]byte
	for _, r := range recs {
		if len(keys) == 0 || !bytes.Equal(keys[len(keys)-1], r.Key) {
			keys = append(keys, r.Key)
		}
	}
	return files[0].Data, s, recs, keys
}

// oracleRecords returns the records of keys (sorted) in file order.
func oracleRecords(recs []Record, keys [][]byte) []Record {
	var out []Record
	for _, r := range recs {
		if _, ok := slices.BinarySearchFunc(keys, r.Key, bytes.Compare); ok {
			out = append(out, r)
		}
	}
	return out
}

func sameRecords(got, want []Record) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if !recordsEqual(got[i], want[i]) {
			return false
		}
	}
	return true
}

// TestLookupKeysOracle compares page reads (LookupKeys) with the records
// written, for single keys (present, absent, at page boundaries: every
// key of small files) and for sorted sets of keys, over random files with
// NULLs, many pages per row group, long keys and keys with several
// records, reopening the file from its footer between lookups, with read
// budgets from none (pages only) to whole row groups in one read.
func TestLookupKeysOracle(t *testing.T) {
	seed := testSeed(t)
	ctx := context.Background()
	for it := 0; it < 12; it++ {
		rng := rand.New(rand.NewPCG(seed, uint64(it)))
		data, s, recs, keys := pagedFile(t, rng)
		cr := &countingReader{r: bytes.NewReader(data)}
		fr, err := OpenFile(ctx, cr, int64(len(data)), s, 0)
		if err != nil {
			t.Fatal(err)
		}
		ft := fr.Footer()
		probes := slices.Clone(keys)
		for range 20 { // absent keys, between and around the present ones
			k := slices.Clone(keys[rng.IntN(len(keys))])
			k = append(k, byte(rng.IntN(256)))
			if rng.IntN(2) == 0 {
				k = k[:len(k)-2]
			}
			probes = append(probes, k)
		}
		for n, k := range probes {
			if n%7 == 0 { // a fresh reader of the same footer: no page index parsed yet
				ft.pidx = new(pageIndexes)
				if fr, err = OpenFooter(cr, ft, s, 0); err != nil {
					t.Fatal(err)
				}
			}
			got, err := fr.lookupKeys(ctx, [][]byte{k}, randBudget(rng))
			if err != nil {
				t.Fatalf("seed %d run %d: LookupKeys(%x): %v", seed, it, k, err)
			}
			if want := oracleRecords(recs, [][]byte{k}); !sameRecords(got, want) {
				t.Fatalf("seed %d run %d: LookupKeys(%x) = %d records, want %d", seed, it, k, len(got), len(want))
			}
		}
		for range 10 {
			var set [][]byte
			for _, k := range probes {
				if rng.IntN(4) == 0 {
					set = append(set, k)
				}
			}
			slices.SortFunc(set, bytes.Compare)
			set = slices.CompactFunc(set, bytes.Equal)
			got, err := fr.lookupKeys(ctx, set, randBudget(rng))
			if err != nil {
				t.Fatalf("seed %d run %d: LookupKeys(%d keys): %v", seed, it, len(set), err)
			}
			if want := oracleRecords(recs, set); !sameRecords(got, want) {
				t.Fatalf("seed %d run %d: LookupKeys(%d keys) = %d records, want %d", seed, it, len(set), len(got), len(want))
			}
		}
		if st := fr.Stats(); st.RowGroupsRead != 0 || st.PagesRead == 0 {
			t.Fatalf("seed %d run %d: page reads fell back to row groups: %+v", seed, it, st)
		}
	}
}

// randBudget returns a read budget of a lookup: none (pages only, merged
// within coalesceBudget), small, the default, or every row group whole.
func randBudget(rng *rand.Rand) int64 {
	return []int64{-1, rng.Int64N(8 << 10), rng.Int64N(lookupBudget), lookupBudget, 1 << 40}[rng.IntN(5)]
}

// TestLookupKeysReadsPages checks that a lookup in a file of many pages
// reads a small part of the row group, in at most two reads.
func TestLookupKeysReadsPages(t *testing.T) {
	ctx := context.Background()
	s := benchSchema()
	var recs []Record
	for id := int64(0); id < 20000; id++ {
		row := types.Row{id, "name", types.Decimal(id), int32(id % 7), float64(id) * 1.5, types.Timestamp(id)}
		key, _ := types.EncodeRowKey(nil, row, []int{0})
		recs = append(recs, Record{Key: key, Seq: id, Kind: types.Insert, Row: row, Merged: true})
	}
	files, err := WriteFiles(recs, s, WriterOptions{PageBytes: 8 << 10})
	if err != nil {
		t.Fatal(err)
	}
	data := files[0].Data
	cr := &countingReader{r: bytes.NewReader(data)}
	fr, err := OpenFile(ctx, cr, int64(len(data)), s, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []int64{0, 1, 4095, 4096, 12345, 19999} {
		reads, read := cr.reads.Load(), cr.bytes.Load()
		got, err := fr.LookupKeys(ctx, [][]byte{recs[id].Key})
		if err != nil || len(got) != 1 || !recordsEqual(got[0], recs[id]) {
			t.Fatalf("LookupKeys(%d) = %v, %v", id, got, err)
		}
		n, b := cr.reads.Load()-reads, cr.bytes.Load()-read
		t.Logf("id %d: %d reads, %d bytes of a %d-byte file", id, n, b, len(data))
		if b > 64<<10 || b > int64(len(data))/2 {
			t.Fatalf("LookupKeys(%d) read %d bytes of a %d-byte file", id, b, len(data))
		}
	}
}

// TestLookupKeysCorruptPage flips bits in the pages of random files: a
// page read must then return the records written or an error wrapping
// types.ErrCorruption, never other records; a flip in a page body the
// lookup reads must be an error.
func TestLookupKeysCorruptPage(t *testing.T) {
	seed := testSeed(t)
	ctx := context.Background()
	detected, harmless := 0, 0
	for it := 0; it < 6; it++ {
		rng := rand.New(rand.NewPCG(seed, uint64(it)))
		data, s, recs, keys := pagedFile(t, rng)
		clean, err := OpenFile(ctx, bytes.NewReader(data), int64(len(data)), s, 0)
		if err != nil {
			t.Fatal(err)
		}
		tailStart := clean.tail.off
		for flip := 0; flip < 150; flip++ {
			bad := slices.Clone(data)
			pos := 4 + rng.Int64N(tailStart-4)
			bad[pos] ^= 1 << rng.IntN(8)
			fr, err := OpenFooter(bytes.NewReader(bad), clean.Footer(), s, 0)
			if err != nil {
				t.Fatal(err)
			}
			k := keys[rng.IntN(len(keys))]
			got, err := fr.lookupKeys(ctx, [][]byte{k}, randBudget(rng))
			switch {
			case err != nil && !errors.Is(err, types.ErrCorruption):
				t.Fatalf("seed %d run %d: flip at %d: error not wrapping ErrCorruption: %v", seed, it, pos, err)
			case err != nil:
				detected++
			case !sameRecords(got, oracleRecords(recs, [][]byte{k})):
				t.Fatalf("seed %d run %d: flip at %d: wrong records for key %x, no error", seed, it, pos, k)
			default:
				harmless++
			}
			// Whatever the lookup read: decoding the page holding the
			// flip, when it is in a page body, must fail.
			if i, col, p, ok := pageBodyAt(clean, pos); ok {
				ci, _ := clean.chunkIndex(i, col, false)
				page := max(p, 0)
				fs := fetched{{off: ci.pages[page].off, data: bad[ci.pages[page].off : ci.pages[page].off+ci.pages[page].size]}}
				if ci.dictLen > 0 {
					fs = append(fetched{{off: ci.dictOff, data: bad[ci.dictOff : ci.dictOff+ci.dictLen]}}, fs...)
				}
				if _, err := fr.decodeRun(fs, i, col, ci, page, page, new(pageScratch)); !errors.Is(err, types.ErrCorruption) {
					t.Fatalf("seed %d run %d: flip at %d in the body of page %d of row group %d column %d: decoding it gave %v", seed, it, pos, p, i, col, err)
				}
			}
		}
	}
	t.Logf("seed %d: %d flips detected, %d outside what the lookup read or harmless", seed, detected, harmless)
	if detected == 0 {
		t.Fatalf("seed %d: no flip detected", seed)
	}
}

// pageBodyAt returns the row group, column and page (-1: the dictionary)
// whose body (after its header) holds file offset pos.
func pageBodyAt(fr *FileReader, pos int64) (group, col, page int, ok bool) {
	for i := range fr.groups {
		for c := range fr.file.Root().Columns() {
			ci, err := fr.chunkIndex(i, c, false)
			if err != nil {
				continue
			}
			locs := slices.Clone(ci.pages)
			if ci.dictLen > 0 {
				locs = append(locs, pageLoc{off: ci.dictOff, size: ci.dictLen})
			}
			for p, l := range locs {
				if pos < l.off || pos >= l.off+l.size {
					continue
				}
				raw := make([]byte, l.size)
				if _, err := fr.r.ReadAt(raw, l.off); err != nil {
					return 0, 0, 0, false
				}
				_, body, err := parsePage(raw)
				if p == len(ci.pages) {
					p = -1
				}
				return i, c, p, err == nil && pos >= l.off+l.size-int64(len(body))
			}
		}
	}
	return 0, 0, 0, false
}

// TestCoalesce: merged ranges cover every range, are sorted and disjoint,
// merge every gap of at most gap bytes, and read more than the ranges
// themselves only within budget (beyond the small gaps).
func TestCoalesce(t *testing.T) {
	seed := testSeed(t)
	rng := rand.New(rand.NewPCG(seed, 0))
	for it := 0; it < 2000; it++ {
		var spans []span
		var own int64
		for n := 1 + rng.IntN(12); n > 0; n-- {
			off := rng.Int64N(1 << 20)
			s := span{off, off + 1 + rng.Int64N(20000)}
			spans = append(spans, s)
		}
		gap, budget := rng.Int64N(20000), rng.Int64N(100000)
		in := slices.Clone(spans)
		out := coalesce(spans, gap, budget)
		for _, s := range in {
			if !slices.ContainsFunc(out, func(o span) bool { return o.off <= s.off && s.end <= o.end }) {
				t.Fatalf("seed %d: %v not covered by %v", seed, s, out)
			}
		}
		var total int64
		for k, o := range out {
			total += o.end - o.off
			if k > 0 && o.off <= out[k-1].end+gap {
				t.Fatalf("seed %d: %v and %v not merged (gap %d)", seed, out[k-1], o, gap)
			}
		}
		small := coalesce(slices.Clone(in), gap, 0)
		for _, o := range small {
			own += o.end - o.off
		}
		if total > max(own, budget) {
			t.Fatalf("seed %d: reads %d bytes, %d without the budget of %d", seed, total, own, budget)
		}
	}
}

// TestLookupKeysWholeGroupChecksum: a row group a lookup reads in one read
// is checked by its CRC-32C, so a flipped bit anywhere in it (page headers
// and dictionary pages included, which no page CRC covers) fails the
// lookup of a key it holds with an error wrapping types.ErrCorruption.
func TestLookupKeysWholeGroupChecksum(t *testing.T) {
	seed := testSeed(t)
	ctx := context.Background()
	for it := 0; it < 6; it++ {
		rng := rand.New(rand.NewPCG(seed, uint64(it)))
		data, s, recs, _ := pagedFile(t, rng)
		clean, err := OpenFile(ctx, bytes.NewReader(data), int64(len(data)), s, 0)
		if err != nil {
			t.Fatal(err)
		}
		for range 40 {
			i := rng.IntN(len(clean.groups))
			g := clean.groups[i]
			var inGroup [][]byte
			for rec, err := range clean.GroupRecords(ctx, i) {
				if err != nil {
					t.Fatal(err)
				}
				inGroup = append(inGroup, rec.Key)
			}
			k := inGroup[rng.IntN(len(inGroup))]
			bad := slices.Clone(data)
			pos := g.start + rng.Int64N(g.end-g.start)
			bad[pos] ^= 1 << rng.IntN(8)
			fr, err := OpenFooter(bytes.NewReader(bad), clean.Footer(), s, 0)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := fr.lookupKeys(ctx, [][]byte{k}, 1<<40); !errors.Is(err, types.ErrCorruption) {
				t.Fatalf("seed %d run %d: flip at %d in row group %d (bytes %d..%d): lookup of %x gave %d records (want %d), %v; want ErrCorruption",
					seed, it, pos, i, g.start, g.end, k, len(got), len(oracleRecords(recs, [][]byte{k})), err)
			}
		}
	}
}
