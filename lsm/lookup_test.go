package lsm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/siltdb/silt/manifest"
	"github.com/siltdb/silt/types"
)

// TestLookupRandom builds an LSM tree of files with overlapping key ranges
// and checks Lookup against a last-record-wins oracle, and that only files
// whose key range admits the key are opened. In odd runs the merger
// declares itself last write wins and the files carry their sequence
// ranges: files older than a record found must then be skipped, the others
// opened once.
func TestLookupRandom(t *testing.T) {
	seed := testSeed(t)
	ctx := context.Background()
	s := benchSchema()
	seqPruned := 0
	for it := 0; it < 10; it++ {
		rng := rand.New(rand.NewPCG(seed, uint64(it)))
		lww := it%2 == 1
		var merger Merger = lastWins{}
		if lww {
			merger = lastWriteWins{}
		}
		var srcs []FileSource
		var metas []manifest.DataFile
		opened := map[int]int{}
		oracle := map[int64][]Record{}
		seq := int64(0)
		for f := 0; f < 6; f++ {
			lo := rng.Int64N(1000)
			span := 1 + rng.Int64N(500)
			wb := NewWriteBuffer()
			for n := rng.IntN(300) + 1; n > 0; n-- {
				id := lo + rng.Int64N(span)
				row := types.Row{id, "x", types.Decimal(seq), int32(f), float64(seq), types.Timestamp(seq)}
				key, _ := types.EncodeRowKey(nil, row, []int{0})
				r := Record{Key: key, Seq: seq, Kind: types.RowKind(rng.IntN(4)), Row: row}
				seq++
				wb.Add(r)
				oracle[id] = append(oracle[id], r)
			}
			files, err := WriteFiles(wb.Flush(lastWins{}), s, WriterOptions{RowGroupRows: 16})
			if err != nil {
				t.Fatal(err)
			}
			for _, ef := range files {
				meta := manifest.DataFile{MinKey: ef.MinKey, MaxKey: ef.MaxKey, Size: int64(len(ef.Data)), SeqBase: 0}
				if lww {
					meta.MinSeq, meta.MaxSeq = ef.MinSeq, ef.MaxSeq
				}
				i := len(srcs)
				data := ef.Data
				metas = append(metas, meta)
				srcs = append(srcs, FileSource{Meta: meta, Open: func(ctx context.Context) (*FileReader, error) {
					opened[i]++
					return OpenFile(ctx, bytes.NewReader(data), int64(len(data)), s, meta.SeqBase)
				}})
			}
		}
		for probe := 0; probe < 400; probe++ {
			id := rng.Int64N(1600) - 50
			key, _ := types.EncodeKey(nil, id)
			clear(opened)
			got, ok, st, err := Lookup(ctx, srcs, key, merger)
			if err != nil {
				t.Fatal(err)
			}
			recs := oracle[id]
			wantOK := len(recs) > 0 && recs[len(recs)-1].Kind.IsAdd()
			if ok != wantOK {
				t.Fatalf("run %d: Lookup(%d) found=%t, want %t (%d records)", it, id, ok, wantOK, len(recs))
			}
			if ok {
				want := recs[len(recs)-1]
				want.Merged = true
				if !recordsEqual(got, want) {
					t.Fatalf("run %d: Lookup(%d) = %s, want %s", it, id, debugRecord(got), debugRecord(want))
				}
			}
			inRange := 0
			for i, m := range metas {
				admits := bytes.Compare(key, m.MinKey) >= 0 && bytes.Compare(key, m.MaxKey) <= 0
				if admits {
					inRange++
				}
				if opened[i] > 0 && !admits {
					t.Fatalf("run %d: Lookup(%d) opened file %d whose range excludes it", it, id, i)
				}
				if opened[i] != 0 && opened[i] != 1 || admits && opened[i] != 1 && !lww {
					t.Fatalf("run %d: Lookup(%d) opened file %d %d times (admits=%t)", it, id, i, opened[i], admits)
				}
				if lww && admits && opened[i] == 0 && len(recs) > 0 && m.MaxSeq >= recs[len(recs)-1].Seq {
					t.Fatalf("run %d: Lookup(%d) skipped file %d (MaxSeq %d), which may hold the newest record (seq %d)", it, id, i, m.MaxSeq, recs[len(recs)-1].Seq)
				}
			}
			if st.Files != len(srcs) || st.Opened+st.SeqPruned != inRange || st.RangePruned != len(srcs)-inRange || !lww && st.SeqPruned != 0 {
				t.Fatalf("run %d: stats %+v, want %d opened or skipped of %d", it, st, inRange, len(srcs))
			}
			seqPruned += st.SeqPruned
			if len(recs) == 0 && st.RowGroupsRead > int64(st.Opened-st.BloomPruned)*2 {
				t.Fatalf("run %d: absent key read %d row groups: %+v", it, st.RowGroupsRead, st)
			}
		}
	}
	t.Logf("seed %d: %d files skipped as older than a record found", seed, seqPruned)
	if seqPruned == 0 {
		t.Fatalf("seed %d: no file skipped by sequence number", seed)
	}
}

// lastWriteWins is lastWins declaring itself last write wins.
type lastWriteWins struct{ lastWins }

func (lastWriteWins) LastWriteWins() bool { return true }

func TestLookupOpenError(t *testing.T) {
	boom := errors.New("boom")
	srcs := []FileSource{{Meta: manifest.DataFile{}, Open: func(context.Context) (*FileReader, error) { return nil, boom }}}
	if _, _, _, err := Lookup(context.Background(), srcs, []byte("k"), lastWins{}); !errors.Is(err, boom) {
		t.Fatalf("want the open error, got %v", err)
	}
}

// TestFileReaderConcurrent reads one FileReader from several goroutines (run
// with -race).
func TestFileReaderConcurrent(t *testing.T) {
	s := allTypesSchema()
	rng := rand.New(rand.NewPCG(9, 9))
	recs := randRecords(rng, s, 600)
	files, err := WriteFiles(recs, s, WriterOptions{RowGroupRows: 50})
	if err != nil {
		t.Fatal(err)
	}
	data := files[0].Data
	ctx := context.Background()
	fr, err := OpenFile(ctx, bytes.NewReader(data), int64(len(data)), s, 0)
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 4)
	for g := 0; g < 4; g++ {
		go func() {
			for i := g; i < len(recs); i += 40 {
				if !fr.MayContain(recs[i].Key) {
					errs <- errors.New("MayContain false for a present key")
					return
				}
				if got, err := fr.Get(ctx, recs[i].Key); err != nil || len(got) == 0 {
					errs <- fmt.Errorf("Get: %d records, %v", len(got), err)
					return
				}
			}
			n := 0
			for _, err := range fr.All(ctx) {
				if err != nil {
					errs <- err
					return
				}
				n++
			}
			if n != len(recs) {
				errs <- fmt.Errorf("All read %d of %d", n, len(recs))
				return
			}
			errs <- nil
		}()
	}
	for g := 0; g < 4; g++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
